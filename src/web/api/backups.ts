import * as v from 'valibot';
import { backupInfo } from '../../app/backups/backup-info.js';
import { backupStats } from '../../app/backups/backup-stats.js';
import { backupChain, backupDependencies } from '../../app/backups/lineage.js';
import { listBackupsAndDamage } from '../../app/backups/list-backups.js';
import { verifyBackups } from '../../app/integrity/verify-backups.js';
import { route } from './errors.js';
import { pageOf, parseInput, queryDate, queryInt, strict } from './input.js';
import { ApiError, json, type ApiRoute } from './route.js';

/** At most this many backups a page (`per_page`). */
export const MAX_PER_PAGE = 500;

const listQuery = strict({
  type: v.optional(v.picklist(['full', 'incremental'], 'full or incremental')),
  status: v.optional(v.picklist(['running', 'completed', 'partial', 'failed', 'corrupted'], 'running, completed, partial, failed or corrupted')),
  from: queryDate('start'),
  to: queryDate('end'),
  page: queryInt(1, Number.MAX_SAFE_INTEGER, 1),
  per_page: queryInt(1, MAX_PER_PAGE, 50),
});

/** Newest first, filtered, one page; `damaged`: manifests that cannot be read (as `backup list --json` lists them after the backups). */
const list = route('GET', '/api/backups', 'backups newest first (type, status, from, to; page, per_page ≤ 500): items as `backup list --json`', async (req) => {
  const q = parseInput(listQuery, req.query, 'query');
  if (q.from && q.to && q.from > q.to) throw new ApiError(400, 'INVALID_ARGUMENT', `from (${q.from.toISOString()}) is after to (${q.to.toISOString()}).`);
  const { backups, damaged } = await listBackupsAndDamage(req.ctx, { type: q.type, status: q.status, from: q.from, to: q.to }, { cached: true });
  return json({ ...pageOf(backups, q.page, q.per_page), damaged });
});

const info = route('GET', '/api/backups/:id', 'one backup, as `backup info --json`', async (req) => json(await backupInfo(req.ctx, req.params['id']!)));

const chain = route('GET', '/api/backups/:id/chain', 'its lineage, as `backup chain --json`', async (req) =>
  json(await backupChain(req.ctx, req.params['id']!)),
);

const dependencies = route('GET', '/api/backups/:id/dependencies', 'backups that build on it, as `backup dependencies --json`', async (req) =>
  json(await backupDependencies(req.ctx, req.params['id']!)),
);

const verifyBody = v.optional(strict({ read_data: v.optional(v.boolean('true or false')) }));

const verify = route(
  'POST',
  '/api/backups/:id/verify',
  'verify the backup now (read_data: false checks structure only), as `backup verify --json`',
  async (req) => {
    const b = parseInput(verifyBody, req.body ?? {}, 'body') ?? {};
    return json(await verifyBackups(req.ctx, { id: req.params['id']!, all: false, data: b.read_data === false ? { kind: 'none' } : { kind: 'all' } }));
  },
);

const stats = route('GET', '/api/stats', 'repository statistics, as `backup stats --json`', async (req) => json(await backupStats(req.ctx, { cached: true })));

export const backupRoutes: ApiRoute[] = [list, info, chain, dependencies, verify, stats];
