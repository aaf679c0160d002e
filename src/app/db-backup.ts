import type { CompressionSettings } from '../codec/compress.js';
import type { DatabaseConfig } from '../config/index.js';
import { PrismError } from '../errors/index.js';
import type { DbRecord, IndexedBlob, Repository } from '../repo/index.js';
import { prepareDbArchive, type DbArchiveResult } from '../snapshot/db-archiver.js';
import { resolveDbTarget, type DbTarget } from '../source/db-credentials.js';
import { dumpMysql } from '../source/mysql-dump.js';
import { openPostgresDump } from '../source/postgres-dump.js';
import type { DumpSink, PreparedDump } from '../source/db-dump.js';
import type { AppContext } from './context.js';

/** The connection of a configured database, its password resolved (URL, password_file or password_env). */
export function configuredTarget(db: DatabaseConfig): DbTarget {
  return resolveDbTarget(db, process.env, db.type);
}

/** What the database half of a backup stored: its tree, and the records that go into the manifest. */
export interface DatabaseBackupResult {
  archive: DbArchiveResult;
  records: DbRecord[];
}

/** The database half of a backup, made ready by prepareDatabaseBackup. */
export interface DatabaseBackup {
  /** Dumps every configured database. */
  run(): Promise<DatabaseBackupResult>;
  /** Gives up (the backup failed before `run`). */
  abort(): Promise<void>;
}

/**
 * Gets the dumps of the configured databases ready (undefined when there are none): the
 * configuration is checked, every PostgreSQL database is connected and its snapshot taken (all
 * at the same moment, while the repository is still being readied), and the chunk worker
 * starts. `run` then dumps every database into the repository, while the caller backs up the
 * files. Any database failing fails the whole run: a backup never silently lacks a database.
 */
export async function prepareDatabaseBackup(
  ctx: AppContext,
  repo: Repository,
  compression: CompressionSettings,
  onBlobs: (b: IndexedBlob[]) => void,
): Promise<DatabaseBackup | undefined> {
  const dbs = ctx.config.backup.databases;
  if (dbs.length === 0) return undefined;
  const dup = dbs.find((d, i) => dbs.findIndex((x) => x.name === d.name) !== i);
  if (dup) throw new PrismError('CONFIG_INVALID', `backup.databases names "${dup.name}" twice: each database needs its own name.`, { key: 'backup.databases' });
  const targets = dbs.map((db) => ({ db, target: configuredTarget(db) }));
  // ends every connection of the dumps, at whatever step they are
  const cancel = new AbortController();
  const opened = targets.map(({ db, target }) => openDump(ctx, db, target, cancel.signal));
  for (const o of opened) o.catch(() => {}); // awaited by `run`; `abort` may come first
  const abortDumps = async (): Promise<void> => {
    cancel.abort(new PrismError('INTERRUPTED', 'The database dumps were stopped: the backup failed or was interrupted.'));
    await Promise.allSettled(opened);
  };
  const archiver = await prepareDbArchive({ repo, repoRoot: ctx.config.storagePath, compression, concurrency: ctx.config.concurrency, onBlobs }).catch(async (e: unknown) => {
    await abortDumps();
    throw e;
  });
  return {
    abort: async () => {
      await Promise.all([archiver.abort(), abortDumps()]);
    },
    run: async () => {
      const jobs = targets.map(({ db }, i) => ({ name: db.name, dump: async (sink: DumpSink) => (await opened[i]!).run(sink) }));
      // a failed dump stops the archive: the databases after it are not dumped, their transactions end
      const archive = await archiver.run(jobs, () => ctx.clock.now().getTime()).catch(async (e: unknown) => {
        await abortDumps();
        throw e;
      });
      return { archive, records: databaseRecords(ctx, targets, archive) };
    },
  };
}

/** A PostgreSQL database is connected and its snapshot taken now; a MySQL one when its dump runs. */
function openDump(ctx: AppContext, db: DatabaseConfig, target: DbTarget, signal: AbortSignal): Promise<PreparedDump> {
  ctx.logger.info({ event: 'backup.database.start', database: db.name, type: db.type, url: target.shown }, `dumping database ${db.name}`);
  const filter = { include: db.include_tables, exclude: db.exclude_tables };
  if (db.type === 'postgres') return openPostgresDump(target, filter, ctx.config.concurrency, signal);
  return Promise.resolve({ run: (sink) => dumpMysql(target, filter, sink) });
}

function databaseRecords(ctx: AppContext, targets: ReadonlyArray<{ db: DatabaseConfig; target: DbTarget }>, archive: DbArchiveResult): DbRecord[] {
  return archive.items.map((item, i): DbRecord => {
    const { db, target } = targets[i]!;
    const r = item.result;
    const rec: DbRecord = {
      name: db.name,
      type: db.type,
      url: target.shown,
      server_version: r.serverVersion,
      dumped_at: new Date(ctx.clock.now().getTime() - item.durationMs).toISOString(),
      duration_ms: item.durationMs,
      bytes: item.bytes,
      new_bytes: item.newBytes,
      schema: r.schema,
      tables: r.tables.map((t) => ({ name: t.name, object: t.object, rows: t.rows, bytes: t.bytes, sha256: t.sha256, ...(t.columns ? { columns: t.columns } : {}) })),
      ...(r.sequences ? { sequences: r.sequences } : {}),
      ...(r.binlog ? { binlog: r.binlog } : {}),
    };
    ctx.logger.info(
      { event: 'backup.database.done', database: db.name, url: target.shown, tables: rec.tables.length, rows: rec.tables.reduce((n, t) => n + t.rows, 0), bytes: rec.bytes, new_bytes: rec.new_bytes },
      `database ${db.name} dumped`,
    );
    return rec;
  });
}
