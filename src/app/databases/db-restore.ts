import { PrismError } from '../../errors/index.js';
import type { DbRecord, Manifest, Repository, TreeNode } from '../../repo/index.js';
import { idListDigest } from '../../codec/hash.js';
import { dbObjects, readDbObject, readDbObjectText } from '../../snapshot/db-objects.js';
import { resolveDbTarget, type DbTarget } from '../../source/db/db-credentials.js';
import { parseDbUrl } from '../../source/db/db-url.js';
import type { CleanItem, CleanOutcome, ForeignKeyRef, RestoreInput, RestoreTableInput, TableOutcome, TablePlan } from '../../source/db/db-restore.js';
import { POST_SCHEMA_OBJECT, SCHEMA_OBJECT, tableSelected } from '../../source/db/db-dump.js';
import { myForeignKeys, myNotATable, planMysql, planMysqlClean, restoreMysql } from '../../source/mysql/mysql-restore.js';
import { planPostgres, planPostgresClean, restorePostgres } from '../../source/postgres/postgres-restore.js';
import { parsePgSchema, pgForeignKeys, pgNotATable } from '../../source/postgres/postgres-schema.js';
import { pgQualified } from '../../source/postgres/postgres-dump.js';
import { myIdent } from '../../source/mysql/mysql-dump.js';
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
  /** The whole database as it was: also remove what the target has and the backup lacks (set aside as safety copies unless safetyCopies is false). */
  clean?: boolean;
  /** --table: create the tables without their foreign keys. */
  withoutForeignKeys?: boolean;
  /** --table: restore along the tables the restored ones reference (transitively) that the target lacks. */
  withDependencies?: boolean;
}

export interface DbRestoreReport {
  backup: string;
  database: string;
  type: DbRecord['type'];
  target: string;
  dry_run: boolean;
  /** --clean: what the backup lacks is removed. */
  clean_requested: boolean;
  /** Safety copies are kept (not --no-safety-copy). */
  safety_copies: boolean;
  plan: TablePlan[];
  /**
   * A whole-database restore: what the target has and the backup lacks (`objects`: --clean removes
   * them, else they are kept as they are), and the tables --clean keeps all the same because the
   * database's include_tables/exclude_tables leave them out of its backups (`kept_by_filter`).
   */
  not_in_backup?: { objects: CleanItem[]; kept_by_filter: string[] };
  /** Foreign keys of the tables created that reference a table the target lacks (dry run: what a run would refuse), or left out (--without-foreign-keys). */
  warnings: string[];
  tables: TableOutcome[];
  /** --clean, done: what was removed, where it was set aside, how to put it back or remove it for good. */
  clean?: CleanOutcome;
  /** The statements that remove the safety copies this restore left (tables overwritten, what --clean set aside), once the restored data is confirmed. */
  drop_safety_copies: string[];
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
    if (opts.clean)
      throw new PrismError('INVALID_ARGUMENT', '--clean cannot be combined with --replay: restore with --clean first, or drop what the backup lacks by hand.');
  }
  const single = (opts.tables ?? []).length > 0;
  if (opts.clean && single)
    throw new PrismError(
      'INVALID_ARGUMENT',
      '--clean restores the whole database as it was (it removes tables the backup lacks), so it cannot be combined with --table.',
    );
  if ((opts.withoutForeignKeys || opts.withDependencies) && !single)
    throw new PrismError(
      'INVALID_ARGUMENT',
      `${opts.withoutForeignKeys ? '--without-foreign-keys' : '--with-dependencies'} applies to --table restores (a whole database brings every table it references).`,
    );
  if (opts.withoutForeignKeys && opts.withDependencies)
    throw new PrismError('INVALID_ARGUMENT', 'Give --without-foreign-keys or --with-dependencies, not both.');
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
    const objects = await dbObjects(repo, m, rec.name);
    const node = (object: string) => {
      const n = objects.get(object);
      if (!n) throw new PrismError('REPO_CORRUPT', `Backup ${m.id} lacks object ${object} of database ${rec.name}.`, { id: m.id, object });
      return n;
    };
    const schema: Record<string, string> = {};
    for (const s of rec.schema) schema[s.object] = await markingDamage(ctx, 'db restore', () => readDbObjectText(repo, node(s.object)));
    let tables = selectTables(rec, opts.tables ?? [], (n) =>
      rec.type === 'postgres' ? pgNotATable(parsePgSchema(schema[SCHEMA_OBJECT] ?? ''), n) : myNotATable(schema[SCHEMA_OBJECT] ?? '', n),
    );
    const target = restoreTargetFor(ctx, rec, opts.targetUrl);
    const planOf = (t: ReadonlyArray<{ name: string; rows: number }>) => (rec.type === 'postgres' ? planPostgres(target, t) : planMysql(target, t));
    let plan = await planOf(tables);
    const warnings: string[] = [];
    let missing: Map<string, ForeignKeyRef[]> = new Map();
    if (single) {
      const fks = rec.type === 'postgres' ? pgForeignKeys(parsePgSchema(schema[POST_SCHEMA_OBJECT] ?? '')) : myForeignKeys(schema[SCHEMA_OBJECT] ?? '');
      const deps = await foreignKeyNeeds(rec, fks, plan, planOf, opts.withDependencies === true);
      ({ plan, missing } = deps);
      tables = plan.map((p) => rec.tables.find((t) => t.name === p.name)!);
      for (const [table, refs] of missing) {
        warnings.push(
          opts.withoutForeignKeys
            ? `${table} is created without its foreign keys: ${refs.map((r) => `${r.constraint} → ${r.references}`).join(', ')}.`
            : `${table} has foreign keys to tables ${target.shown} lacks: ${refs.map((r) => `${r.constraint} → ${r.references}`).join(', ')}; add --with-dependencies to restore ${listFirst([...new Set(refs.map((r) => r.references))])} along, or --without-foreign-keys to create ${table} without them.`,
        );
      }
      if (opts.withoutForeignKeys) {
        // every foreign key of a table it creates is left out, also those to tables the target has
        for (const p of plan.filter((x) => x.action === 'create' && !missing.has(x.name))) {
          const own = fks.filter((f) => f.table === p.name);
          if (own.length > 0)
            warnings.push(`${p.name} is created without its foreign keys: ${own.map((r) => `${r.constraint} → ${r.references}`).join(', ')}.`);
        }
      }
    }
    const keep = (name: string): boolean =>
      filtered !== undefined && !tableSelected(name, { include: filtered.include_tables, exclude: filtered.exclude_tables });
    const cleanPlan = !single
      ? await (rec.type === 'postgres' ? planPostgresClean : planMysqlClean)(
          target,
          schema,
          rec.tables.map((t) => t.name),
          { keep },
        )
      : undefined;
    log('db.restore.plan', {
      backup: m.id,
      database: rec.name,
      target: target.shown,
      tables: plan,
      ...(cleanPlan ? { not_in_backup: cleanPlan, clean: opts.clean === true } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
      ...(replay ? { replay: replay.plan } : {}),
    });
    const report: DbRestoreReport = {
      backup: m.id,
      database: rec.name,
      type: rec.type,
      target: target.shown,
      dry_run: opts.dryRun,
      clean_requested: opts.clean === true,
      safety_copies: opts.safetyCopies !== false,
      plan,
      ...(cleanPlan ? { not_in_backup: { objects: cleanPlan.drop, kept_by_filter: cleanPlan.kept } } : {}),
      warnings,
      tables: [],
      verified: false,
      drop_safety_copies: [],
      ...(replay ? { replay: { ...replay.plan } } : {}),
      duration_ms: 0,
    };
    const overwrites = plan.filter((p) => p.action === 'replace');
    if (opts.dryRun) return { ...report, duration_ms: ctx.clock.now().getTime() - started };
    if (missing.size > 0 && !opts.withoutForeignKeys) {
      const refs = [...missing.values()].flat();
      throw new PrismError(
        'DB_MISSING_DEPENDENCY',
        `${listFirst([...missing.keys()])} would be created with foreign keys to tables ${target.shown} lacks (${listFirst([...new Set(refs.map((r) => r.references))])}); nothing was changed. Add --with-dependencies to restore them along, or --without-foreign-keys to create the table without its foreign keys.`,
        { tables: [...missing.keys()], references: [...new Set(refs.map((r) => r.references))] },
      );
    }
    const removals = opts.clean ? (cleanPlan?.drop ?? []) : [];
    if ((overwrites.length > 0 || removals.length > 0) && !opts.confirm) {
      throw new PrismError(
        'CONFIRMATION_REQUIRED',
        `Restoring would ${[
          overwrites.length > 0 ? `overwrite ${overwrites.length} table(s) (${listFirst(overwrites.map((p) => p.name))})` : '',
          removals.length > 0 ? `remove ${removals.length} object(s) the backup does not have (${listFirst(removals.map((d) => `${d.kind} ${d.name}`))})` : '',
        ]
          .filter(Boolean)
          .join(' and ')} of ${target.shown}; preview with --dry-run, then run with --confirm.`,
      );
    }
    const input: RestoreInput = {
      tables: tables.map((t) => restoreTable(repo, m.id, t, node(t.object))),
      schema,
      sequences: rec.sequences,
      wholeDatabase: tables.length === rec.tables.length,
      safetyCopies: opts.safetyCopies !== false,
      stamp: stamp(ctx.clock.now()),
      log,
      ...(opts.clean ? { clean: { keep } } : {}),
      withoutForeignKeys: opts.withoutForeignKeys === true,
    };
    log('db.restore.start', { backup: m.id, database: rec.name, target: target.shown, tables: tables.map((t) => t.name) });
    try {
      const done = await markingDamage(ctx, 'db restore', () => (rec.type === 'postgres' ? restorePostgres(target, input) : restoreMysql(target, input)));
      report.tables = done.tables;
      if (done.clean) report.clean = done.clean;
      report.drop_safety_copies = [
        ...done.tables
          .filter((t) => t.safety_copy)
          .map((t) => `DROP TABLE ${rec.type === 'postgres' ? pgQualified(t.safety_copy!) : myIdent(t.safety_copy!)};`),
        ...(done.clean?.drop_safety ?? []),
      ];
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
      ...(report.clean ? { clean: report.clean } : {}),
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

/**
 * The foreign keys of the tables a --table restore creates that reference tables the target
 * lacks and the restore does not bring. With `along` (--with-dependencies) those tables join the
 * restore (created, with `referenced_by`), and theirs in turn, until none is missing; a table the
 * target has ends the chain (the key is made against it). A referenced table that is not in the
 * backup cannot come along: it stays missing.
 */
async function foreignKeyNeeds(
  rec: DbRecord,
  fks: readonly ForeignKeyRef[],
  first: TablePlan[],
  planOf: (t: ReadonlyArray<{ name: string; rows: number }>) => Promise<TablePlan[]>,
  along: boolean,
): Promise<{ plan: TablePlan[]; missing: Map<string, ForeignKeyRef[]> }> {
  const plan = [...first];
  /** Tables looked up in the target that the restore does not (yet) bring. */
  const probed = new Map<string, TablePlan>();
  const missing = new Map<string, ForeignKeyRef[]>();
  for (let i = 0; i < plan.length; i++) {
    const p = plan[i]!;
    if (p.action !== 'create') continue;
    for (const fk of fks.filter((f) => f.table === p.name && f.references !== p.name)) {
      const restored = plan.find((x) => x.name === fk.references);
      if (restored) {
        if (restored.referenced_by && !restored.referenced_by.includes(p.name)) restored.referenced_by.push(p.name);
        continue;
      }
      const inBackup = rec.tables.find((t) => t.name === fk.references);
      let q = probed.get(fk.references);
      if (!q) {
        q = (await planOf([inBackup ?? { name: fk.references, rows: 0 }]))[0]!;
        probed.set(fk.references, q);
      }
      if (q.action === 'replace') continue; // the target has it: the key is made against it
      if (along && inBackup) plan.push({ ...q, referenced_by: [p.name] });
      else missing.set(p.name, [...(missing.get(p.name) ?? []), fk]);
    }
  }
  return { plan, missing };
}

/** --table names (full `schema.table` or bare `table`) → the manifest's tables; none: all of them. */
function selectTables(rec: DbRecord, names: readonly string[], notATable: (name: string) => string | undefined): DbRecord['tables'] {
  if (names.length === 0) return rec.tables;
  return names.map((n) => {
    const hits = rec.tables.filter((t) => t.name === n || t.name.slice(t.name.indexOf('.') + 1) === n);
    if (hits.length === 1) return hits[0]!;
    const what = hits.length === 0 ? notATable(n) : undefined;
    if (what) throw new PrismError('INVALID_ARGUMENT', `"${n}" ${what}`, { table: n });
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

/**
 * Whether `targetUrl` names the database that backup.databases configures as `db` (same engine,
 * host, port and database name; localhost and 127.0.0.1 alike): the live database, not another one.
 */
export function isConfiguredDatabase(ctx: AppContext, db: string, targetUrl: string): boolean {
  const configured = ctx.config.backup.databases.find((d) => d.name === db);
  if (!configured) return false;
  const a = parseDbUrl(configured.url);
  const b = parseDbUrl(targetUrl, undefined, 'into');
  const host = (h: string) => (h === 'localhost' || h === '::1' ? '127.0.0.1' : h.toLowerCase());
  return a.type === b.type && host(a.host) === host(b.host) && a.port === b.port && a.database === b.database;
}
