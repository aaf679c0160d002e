import type { CompressionSettings } from '../codec/compress.js';
import type { DatabaseConfig } from '../config/index.js';
import { PrismError } from '../errors/index.js';
import type { DbRecord, IndexedBlob, Repository } from '../repo/index.js';
import { archiveDatabases, type DbArchiveResult } from '../snapshot/db-archiver.js';
import { resolveDbTarget, type DbTarget } from '../source/db-credentials.js';
import { dumpMysql } from '../source/mysql-dump.js';
import { dumpPostgres } from '../source/postgres-dump.js';
import type { AppContext } from './context.js';

/** The connection of a configured database, its password resolved (URL, password_file or password_env). */
export function configuredTarget(db: DatabaseConfig): DbTarget {
  return resolveDbTarget(db, process.env, db.type);
}

/**
 * Dumps every configured database into the repository (one snapshot per database) and returns
 * the database tree and the manifest records. Any database failing fails the whole call: a
 * backup never silently lacks a database.
 */
export async function backupDatabases(
  ctx: AppContext,
  repo: Repository,
  compression: CompressionSettings,
  onBlobs: (b: IndexedBlob[]) => void,
): Promise<{ archive: DbArchiveResult; records: DbRecord[] } | undefined> {
  const dbs = ctx.config.backup.databases;
  if (dbs.length === 0) return undefined;
  const dup = dbs.find((d, i) => dbs.findIndex((x) => x.name === d.name) !== i);
  if (dup) throw new PrismError('CONFIG_INVALID', `backup.databases names "${dup.name}" twice: each database needs its own name.`, { key: 'backup.databases' });
  const targets = dbs.map((db) => ({ db, target: configuredTarget(db) }));
  const archive = await archiveDatabases({
    repo,
    repoRoot: ctx.config.storagePath,
    compression,
    concurrency: ctx.config.concurrency,
    now: () => ctx.clock.now().getTime(),
    onBlobs,
    jobs: targets.map(({ db, target }) => ({
      name: db.name,
      dump: (sink) => {
        ctx.logger.info({ event: 'backup.database.start', database: db.name, type: db.type, url: target.shown }, `dumping database ${db.name}`);
        const filter = { include: db.include_tables, exclude: db.exclude_tables };
        return db.type === 'postgres' ? dumpPostgres(target, filter, sink, ctx.config.concurrency) : dumpMysql(target, filter, sink);
      },
    })),
  });
  const records = archive.items.map((item, i): DbRecord => {
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
  return { archive, records };
}
