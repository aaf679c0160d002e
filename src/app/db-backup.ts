import type { CompressionSettings } from '../codec/compress.js';
import type { DatabaseConfig } from '../config/index.js';
import { PrismError } from '../errors/index.js';
import type { DbRecord, IndexedBlob, Repository } from '../repo/index.js';
import { prepareDbArchive, type DbArchiveResult } from '../snapshot/db-archiver.js';
import { resolveDbTarget, type DbTarget } from '../source/db-credentials.js';
import { dumpMysql } from '../source/mysql-dump.js';
import { dumpPostgres } from '../source/postgres-dump.js';
import type { AppContext } from './context.js';

/** The connection of a configured database, its password resolved (URL, password_file or password_env). */
export function configuredTarget(db: DatabaseConfig): DbTarget {
  return resolveDbTarget(db, process.env, db.type);
}

/** The database half of a backup, made ready by prepareDatabaseBackup. */
export interface DatabaseBackup {
  /** Dumps every configured database; the records go into the manifest. */
  run(): Promise<{ archive: DbArchiveResult; records: DbRecord[] }>;
  /** Gives up (the backup failed before `run`). */
  abort(): Promise<void>;
}

/**
 * Gets the dumps of the configured databases ready (undefined when there are none): the
 * configuration is checked and the chunk worker starts, booting while the files are backed up.
 * `run` then dumps every database into the repository (one snapshot per database). Any database
 * failing fails the whole run: a backup never silently lacks a database.
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
  const archiver = await prepareDbArchive({ repo, repoRoot: ctx.config.storagePath, compression, concurrency: ctx.config.concurrency, onBlobs });
  return {
    abort: () => archiver.abort(),
    run: async () => {
      const archive = await archiver.run(
        targets.map(({ db, target }) => ({
          name: db.name,
          dump: (sink) => {
            ctx.logger.info({ event: 'backup.database.start', database: db.name, type: db.type, url: target.shown }, `dumping database ${db.name}`);
            const filter = { include: db.include_tables, exclude: db.exclude_tables };
            return db.type === 'postgres' ? dumpPostgres(target, filter, sink, ctx.config.concurrency) : dumpMysql(target, filter, sink);
          },
        })),
        () => ctx.clock.now().getTime(),
      );
      return { archive, records: databaseRecords(ctx, targets, archive) };
    },
  };
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
