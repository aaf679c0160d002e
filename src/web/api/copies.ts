import { listBackups } from '../../app/backups/list-backups.js';
import { copyStatuses } from '../../app/copies/copy-status.js';
import { route } from './errors.js';
import { json, type ApiRoute } from './route.js';

const copies = route(
  'GET',
  '/api/copies',
  'each copy of backup.copies: its newest backup, lag and last run, as the copies of `backup stats --json`',
  async (req) => {
    const { ctx } = req;
    if (ctx.config.copies.length === 0) return json({ copies: [] });
    // copyStatuses takes the primary's backups oldest first
    const primary = [...(await listBackups(ctx, {}, { cached: true, missing: 'empty' }))].reverse();
    return json({ copies: await copyStatuses(ctx, primary) });
  },
);

export const copyRoutes: ApiRoute[] = [copies];
