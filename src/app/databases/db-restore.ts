import { PrismError } from '../../errors/index.js';
import type { DbRecord, Manifest, Repository, TreeNode } from '../../repo/index.js';
import { idListDigest } from '../../codec/hash.js';
import { dbObjects, readDbObject, readDbObjectText } from '../../snapshot/db-objects.js';
import { resolveDbTarget, type DbTarget } from '../../source/db/db-credentials.js';
import type { RestoreInput, RestoreTableInput, TableOutcome, TablePlan } from '../../source/db/db-restore.js';
import { planMysql, restoreMysql } from '../../source/mysql/mysql-restore.js';
import { planPostgres, restorePostgres } from '../../source/postgres/postgres-restore.js';
import { openRepository, type AppContext } from '../context.js';
import { listFirst } from '../list-first.js';
import { markingDamage } from '../integrity/mark-corrupted.js';
import { configuredTarget } from './db-backup.js';
import { planReplay, replayBackup, runReplay, type ReplayReport } from '../pitr/mysql/db-replay.js';
import { resolveBackup } from '../backups/resolve-backup.js';

export interface DbRestoreOptions {
  id?: string | undefined;
  at?: Date | undefined;
  db: string;
  tables?: readonly string[];
  /** Restore into this database instead of the configured one (password in the URL, or trust). */
  targetUrl?: string | undefined;
  dryRun: boolean;
  confirm: boolean;
  /** Keep a copy of each table before overwriting it (default true). */
  safetyCopies?: boolean;
  /** MySQL/MariaDB point in time: after the dump, replay the archived binary log up to `at`. */
  replay?: boolean;
}

export interface DbRestoreReport {
  backup: string;
  database: string;
  type: DbRecord['type'];
  target: string;
  dry_run: boolean;
  plan: TablePlan[];
  tables: TableOutcome[];
  /** Every restored table's row count and checksum equal the manifest's. */
  verified: boolean;
  /** --replay: the binary log replayed on top of the dump (events and last_event_at once done). */
  replay?: ReplayReport;
  duration_ms: number;
}

/**
 * `prism db restore`: a whole database or some tables of a backup into the original database or
 * another. A restore that overwrites tables needs --confirm (after --dry-run); each overwritten
 * table gets a safety copy first; a failure leaves the target as it was; afterwards row counts
 * and checksums are compared with the manifest and reported. With --replay (MySQL/MariaDB), the
 * archived binary log is then replayed from the backup's position up to --at; a failed replay
 * undoes the whole restore.
 */
export async function restoreDatabase(ctx: AppContext, opts: DbRestoreOptions): Promise<DbRestoreReport> {
  if (opts.dryRun && opts.confirm) throw new PrismError('INVALID_ARGUMENT', '--dry-run and --confirm exclude each other: preview first, then confirm.');
  if (opts.replay) {
    if (!opts.at) throw new PrismError('INVALID_ARGUMENT', '--replay needs --at TIME: the point in time to replay the binary log to.');
    if ((opts.tables ?? []).length > 0)
      throw new PrismError(
        'INVALID_ARGUMENT',
        '--replay restores the whole database: the binary log holds statements that may touch any of its tables, so --table cannot be combined with it.',
      );
    if (opts.safetyCopies === false)
      throw new PrismError(
        'INVALID_ARGUMENT',
        '--replay keeps safety copies: a failed replay is undone from them, so --no-safety-copy cannot be combined with it.',
      );
  }
  const started = ctx.clock.now().getTime();
  const log = (event: string, fields: Record<string, unknown>): void => ctx.logger.info({ event, ...fields }, event);
  const repo = await openRepository(ctx);
  const lock = await repo.lock('shared', 'prism db restore');
  try {
    const { m, rec } = opts.replay ? await replayBackup(repo, { id: opts.id, at: opts.at!, db: opts.db }) : await backupWithDatabase(repo, opts);
    const replay = opts.replay ? await planReplay(repo, m, rec, opts.at!) : undefined;
    const filtered = ctx.config.backup.databases.find((d) => d.name === rec.name);
    if (replay && ((filtered?.include_tables?.length ?? 0) > 0 || (filtered?.exclude_tables?.length ?? 0) > 0)) {
      replay.plan.warnings.push(
        `${rec.name} is backed up with include_tables/exclude_tables, but the binary log holds every table's events: those of a table left out fail the replay where the table is missing (and the restore is undone), and are replayed on top of its current rows where it exists.`,
      );
    }
    const tables = selectTables(rec, opts.tables ?? []);
    const target = restoreTargetFor(ctx, rec, opts.targetUrl);
    const plan = rec.type === 'postgres' ? await planPostgres(target, tables) : await planMysql(target, tables);
    log('db.restore.plan', { backup: m.id, database: rec.name, target: target.shown, tables: plan, ...(replay ? { replay: replay.plan } : {}) });
    const report: DbRestoreReport = {
      backup: m.id,
      database: rec.name,
      type: rec.type,
      target: target.shown,
      dry_run: opts.dryRun,
      plan,
      tables: [],
      verified: false,
      ...(replay ? { replay: { ...replay.plan } } : {}),
      duration_ms: 0,
    };
    const overwrites = plan.filter((p) => p.action === 'replace');
    if (opts.dryRun) return { ...report, duration_ms: ctx.clock.now().getTime() - started };
    if (overwrites.length > 0 && !opts.confirm) {
      throw new PrismError(
        'CONFIRMATION_REQUIRED',
        `Restoring would overwrite ${overwrites.length} table(s) of ${target.shown} (${listFirst(overwrites.map((p) => p.name))}); preview with --dry-run, then run with --confirm.`,
      );
    }
    const objects = await dbObjects(repo, m, rec.name);
    const node = (object: string) => {
      const n = objects.get(object);
      if (!n) throw new PrismError('REPO_CORRUPT', `Backup ${m.id} lacks object ${object} of database ${rec.name}.`, { id: m.id, object });
      return n;
    };
    const schema: Record<string, string> = {};
    for (const s of rec.schema) schema[s.object] = await markingDamage(ctx, 'db restore', () => readDbObjectText(repo, node(s.object)));
    const input: RestoreInput = {
      tables: tables.map((t) => restoreTable(repo, m.id, t, node(t.object))),
      schema,
      sequences: rec.sequences,
      wholeDatabase: tables.length === rec.tables.length,
      safetyCopies: opts.safetyCopies !== false,
      stamp: stamp(ctx.clock.now()),
      log,
    };
    log('db.restore.start', { backup: m.id, database: rec.name, target: target.shown, tables: tables.map((t) => t.name) });
    try {
      report.tables = await markingDamage(ctx, 'db restore', () => (rec.type === 'postgres' ? restorePostgres(target, input) : restoreMysql(target, input)));
      report.verified = report.tables.every((t) => t.ok);
      if (replay) {
        const done = await runReplay(repo, target, rec, opts.at!, replay.records, report.tables, log);
        report.replay = { ...replay.plan, events: done.events, last_event_at: done.last_event_at };
      }
    } catch (e) {
      ctx.logger.error(
        { event: 'db.restore.failed', backup: m.id, database: rec.name, target: target.shown, code: (e as PrismError).code, error: (e as Error).message },
        'database restore failed',
      );
      throw e;
    }
    report.duration_ms = ctx.clock.now().getTime() - started;
    log('db.restore.done', {
      backup: m.id,
      database: rec.name,
      target: target.shown,
      tables: report.tables,
      ...(report.replay ? { replay: report.replay } : {}),
      duration_ms: report.duration_ms,
    });
    return report;
  } finally {
    await lock.release();
  }
}

/** The backup (by id, or the latest completed at or before --at that has the database) and its record of the database. */
export async function backupWithDatabase(
  repo: Repository,
  opts: { id?: string | undefined; at?: Date | undefined; db: string },
): Promise<{ m: Manifest; rec: DbRecord }> {
  let m: Manifest;
  if (opts.id === undefined && opts.at) {
    const all = (await repo.listManifests()).filter(
      (x) => x.status === 'completed' && Date.parse(x.started_at) <= opts.at!.getTime() && x.databases?.some((d) => d.name === opts.db),
    );
    const last = all[all.length - 1];
    if (!last)
      throw new PrismError('BACKUP_NOT_FOUND', `No completed backup of database ${opts.db} exists at or before ${opts.at.toISOString()}.`, {
        at: opts.at.toISOString(),
        database: opts.db,
      });
    m = last;
  } else {
    m = await resolveBackup(repo, opts);
  }
  const rec = m.databases?.find((d) => d.name === opts.db);
  if (!rec) {
    const names = (m.databases ?? []).map((d) => d.name);
    throw new PrismError(
      'INVALID_ARGUMENT',
      `Backup ${m.id} holds no database "${opts.db}"${names.length > 0 ? `; it holds: ${names.join(', ')}` : ' (no databases were configured when it was taken)'}.`,
      { id: m.id, database: opts.db },
    );
  }
  return { m, rec };
}

/** --table names (full `schema.table` or bare `table`) → the manifest's tables; none: all of them. */
function selectTables(rec: DbRecord, names: readonly string[]): DbRecord['tables'] {
  if (names.length === 0) return rec.tables;
  return names.map((n) => {
    const hits = rec.tables.filter((t) => t.name === n || t.name.slice(t.name.indexOf('.') + 1) === n);
    if (hits.length === 1) return hits[0]!;
    const known = rec.tables
      .map((t) => t.name)
      .slice(0, 20)
      .join(', ');
    throw new PrismError(
      'INVALID_ARGUMENT',
      hits.length === 0
        ? `Table "${n}" is not in the backup of ${rec.name}; it holds: ${known}.`
        : `Table "${n}" is ambiguous in ${rec.name} (${hits.map((t) => t.name).join(', ')}); give schema.table.`,
      { table: n },
    );
  });
}

/**
 * --target-url, else the database as configured now (its password source), else the URL in the
 * manifest. A target of another engine than the backup's is refused before anything connects:
 * a PostgreSQL dump cannot be restored into MySQL/MariaDB, nor the reverse.
 */
export function restoreTargetFor(ctx: AppContext, rec: DbRecord, targetUrl: string | undefined): DbTarget {
  const configured = ctx.config.backup.databases.find((d) => d.name === rec.name);
  if (targetUrl !== undefined) {
    const target = resolveDbTarget({ url: targetUrl }, process.env, undefined, '--target-url');
    if (target.type !== rec.type) throw engineMismatch(rec, `--target-url ${target.shown} is a ${ENGINE[target.type]} database`);
    return target;
  }
  if (configured) {
    if (configured.type !== rec.type)
      throw engineMismatch(rec, `backup.databases configures "${configured.name}" as ${ENGINE[configured.type]} now (type "${configured.type}")`);
    return configuredTarget(configured);
  }
  return resolveDbTarget({ url: rec.url }, process.env, rec.type);
}

const ENGINE: Record<DbRecord['type'], string> = { postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB' };

function engineMismatch(rec: DbRecord, now: string): PrismError {
  return new PrismError(
    'DB_ENGINE_MISMATCH',
    `The backup of database "${rec.name}" is a ${ENGINE[rec.type]} dump, but ${now}; a dump restores only into the engine it came from. Restore it into a ${ENGINE[rec.type]} database with --target-url (a ${rec.type}://… URL), or configure "${rec.name}" as type "${rec.type}" again.`,
    { database: rec.name, backup_type: rec.type },
  );
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace('T', '_').slice(0, 15);
}

/**
 * A table as the engine restorers take it: its data streamed from the repository (each chunk
 * checked against its id), and the SHA-256 of that data once read, which the table read back from
 * the database must match. The manifest's chunks_sha256 must name the tree's chunks (a backup
 * from before chunks_sha256 recorded the data's SHA-256 itself).
 */
function restoreTable(repo: Repository, id: string, t: DbRecord['tables'][number], n: TreeNode): RestoreTableInput {
  if (t.chunks_sha256 !== undefined && idListDigest(n.content ?? []) !== t.chunks_sha256) {
    throw new PrismError(
      'CHECKSUM_MISMATCH',
      `Backup ${id}: the stored data of ${t.name} does not match its checksum in the manifest (chunks_sha256 ${t.chunks_sha256.slice(0, 12)}); run \`prism backup verify ${id}\`.`,
      { id, table: t.name },
    );
  }
  let read: { sha256(): string | undefined } | undefined;
  return {
    name: t.name,
    rows: t.rows,
    columns: t.columns,
    sha256: () => t.sha256 ?? read?.sha256() ?? '',
    open: () => {
      const r = readDbObject(repo, n);
      read = r;
      return r.stream;
    },
  };
}
