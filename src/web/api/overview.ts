import { listBackups } from '../../app/backups/list-backups.js';
import { backupHealth } from '../../app/monitoring/backup-health.js';
import { serviceStatus } from '../../daemon/service-status.js';
import type { Manifest } from '../../app/index.js';
import { route } from './errors.js';
import { json, type ApiRoute } from './route.js';

/** The newest backup (any status) of each kind: full, incremental, and one holding databases. */
export function lastOfEachKind(newestFirst: readonly Manifest[]): { full: Manifest | null; incremental: Manifest | null; database: Manifest | null } {
  return {
    full: newestFirst.find((m) => m.type === 'full') ?? null,
    incremental: newestFirst.find((m) => m.type === 'incremental') ?? null,
    database: newestFirst.find((m) => (m.databases ?? []).length > 0) ?? null,
  };
}

const overview = route(
  'GET',
  '/api/overview',
  'status (`status --json`), health (`backup health --json`), active alerts and the last backup of each kind',
  async (req) => {
    const { ctx } = req;
    const status = serviceStatus(ctx.config.home, ctx.clock, ctx);
    const health = await backupHealth(ctx, { cached: true });
    const backups = await listBackups(ctx, {}, { cached: true, missing: 'empty' });
    return json({ status, health, alerts: health.alerts, last: lastOfEachKind(backups) });
  },
);

export const overviewRoutes: ApiRoute[] = [overview];
