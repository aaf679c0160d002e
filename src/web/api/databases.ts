import * as v from 'valibot';
import { backupInfo, databasesOf } from '../../app/backups/backup-info.js';
import { listBackups } from '../../app/backups/list-backups.js';
import { isConfiguredDatabase, restoreDatabase } from '../../app/databases/db-restore.js';
import { MAX_PER_PAGE } from './backups.js';
import { route } from './errors.js';
import { pageOf, parseInput, queryInt, strict } from './input.js';
import { ApiError, json, type ApiRoute } from './route.js';

const listQuery = strict({
  backup: v.optional(v.string()),
  page: queryInt(1, Number.MAX_SAFE_INTEGER, 1),
  per_page: queryInt(1, MAX_PER_PAGE, 50),
});

const list = route(
  'GET',
  '/api/databases',
  'the databases and tables (rows, bytes) of each backup that holds any, newest first (page, per_page); backup=ID: that one, as `db list --json`',
  async (req) => {
    const q = parseInput(listQuery, req.query, 'query');
    if (q.backup !== undefined) return json(databasesOf(await backupInfo(req.ctx, q.backup)));
    const withDatabases = (await listBackups(req.ctx, {}, { cached: true })).filter((m) => (m.databases ?? []).length > 0);
    const page = pageOf(withDatabases, q.page, q.per_page);
    return json({ ...page, items: page.items.map(databasesOf) });
  },
);

const name = v.pipe(v.string(), v.minLength(1, 'a name'), v.maxLength(256));

const restoreBody = strict({
  backup: v.pipe(v.string('a backup id'), v.minLength(1, 'a backup id')),
  database: name,
  table: v.optional(name),
  tables: v.optional(v.pipe(v.array(name), v.maxLength(1000))),
  into: v.pipe(
    v.string('a postgres:// or mysql:// URL of another database'),
    v.regex(/^(postgres|postgresql|mysql|mariadb):\/\//i, 'a postgres:// or mysql:// URL'),
  ),
  dry_run: v.boolean('true or false'),
});

const restore = route(
  'POST',
  '/api/databases/restore',
  'restore a database, or some of its tables (table or tables), into another database (into: URL); dry_run: the plan only; as `db restore --json`',
  async (req) => {
    const b = parseInput(restoreBody, req.body, 'body');
    if (isConfiguredDatabase(req.ctx, b.database, b.into)) {
      throw new ApiError(
        409,
        'LIVE_DATABASE',
        `into names the live database "${b.database}" itself: the dashboard restores only into another database. To restore over the live database, run \`prism db restore\` from the command line.`,
      );
    }
    const tables = [...(b.table !== undefined ? [b.table] : []), ...(b.tables ?? [])];
    return json(
      await restoreDatabase(req.ctx, {
        id: b.backup,
        db: b.database,
        tables,
        targetUrl: b.into,
        dryRun: b.dry_run,
        confirm: !b.dry_run,
        safetyCopies: true,
      }),
    );
  },
);

export const databaseRoutes: ApiRoute[] = [list, restore];
