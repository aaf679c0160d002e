import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseConfig } from '../../../config/index.js';
import { PrismError, isPrismError } from '../../../errors/index.js';
import { resolveDbTarget, type DbTarget } from '../../../source/db/db-credentials.js';
import { physicalServerFacts, runPhysicalBackup, MARIABACKUP } from '../../../source/mysql/mariabackup-run.js';
import { backupId } from '../../backups/backup-id.js';
import { compressionSettings } from '../../backups/create-backup.js';
import { configuredTarget } from '../../databases/db-backup.js';
import { lockRepository, openRepository, type AppContext } from '../../context.js';
import { storeStream } from '../blob-store.js';
import { listPhysicalRecords, putPhysicalRecord, type PhysicalRecord } from './mysql-physical-records.js';

/** The server `mysql basebackup` copies: `--url`, `--db NAME` of backup.databases, else the one marked `physical`, else the one MySQL/MariaDB database there. */
export function physicalTarget(ctx: AppContext, opts: { url?: string | undefined; db?: string | undefined }): { target: DbTarget; database: string | null } {
  if (opts.url !== undefined && opts.db !== undefined) throw new PrismError('INVALID_ARGUMENT', 'Give --url or --db, not both.');
  if (opts.url !== undefined) return { target: resolveDbTarget({ url: opts.url }, process.env, 'mysql', '--url'), database: null };
  const dbs = ctx.config.backup.databases.filter((d) => d.type === 'mysql');
  let db: DatabaseConfig | undefined;
  if (opts.db !== undefined) {
    db = dbs.find((d) => d.name === opts.db);
    if (!db)
      throw new PrismError(
        'INVALID_ARGUMENT',
        `--db ${opts.db}: backup.databases has no MySQL/MariaDB database of that name (it has: ${dbs.map((d) => d.name).join(', ') || 'none'}).`,
        { db: opts.db },
      );
  } else if (dbs.some((d) => d.physical)) db = dbs.find((d) => d.physical)!;
  else if (dbs.length === 1) db = dbs[0]!;
  else
    throw new PrismError(
      'INVALID_ARGUMENT',
      dbs.length === 0
        ? 'backup.databases names no MySQL/MariaDB database: add one (type "mysql"), or give --url mysql://user@host:port/db.'
        : `backup.databases names ${dbs.length} MySQL/MariaDB databases: say which server with --db (${dbs.map((d) => d.name).join(', ')}), or mark one "physical": true.`,
    );
  return { target: configuredTarget(db), database: db.name };
}

export type PhysicalBackupReport = Omit<PhysicalRecord, 'content'> & { chunks: number; new_bytes: number; warnings: string[] };

/**
 * `prism mysql basebackup`: mariabackup's xbstream of the whole server streamed into the repository
 * as content-defined chunks (deduplicated against earlier base backups, encrypted when the
 * repository is), then its record with the binary log position mariabackup read. The record is
 * written last, and only when mariabackup exited 0: a failed run leaves no base backup (its
 * chunks, if any, go with the next prune).
 */
export async function takePhysicalBackup(
  ctx: AppContext,
  sel: { target: DbTarget; database: string | null },
  opts: { datadir?: string | undefined } = {},
): Promise<PhysicalBackupReport> {
  const facts = await physicalServerFacts(sel.target, opts.datadir);
  const repo = await openRepository(ctx, { create: true });
  const lock = await lockRepository(ctx, repo, 'shared', 'prism mysql basebackup');
  const started = ctx.clock.now();
  const taken = new Set((await listPhysicalRecords(repo)).map((r) => r.id));
  const base = backupId(started, 'full').replace(/^backup_(.*)_full$/, 'mysqlbase_$1');
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}_${n}`;
  const scratch = mkdtempSync(join(tmpdir(), 'prism-mariabackup-'));
  ctx.logger.info({ event: 'mysql.basebackup.start', id, server: sel.target.shown, datadir: facts.datadir }, 'physical base backup started');
  const run = runPhysicalBackup(sel.target, facts.datadir, scratch);
  try {
    const stored = await storeStream(repo, run.stream, compressionSettings(ctx)).catch((e) => {
      run.kill();
      throw e;
    });
    const { position, version } = await run.done;
    const warnings: string[] = [];
    if (facts.binlogFormat !== null && !position)
      throw new PrismError(
        'MYSQL_PHYSICAL_FAILED',
        'mariabackup reported no binary log position although binary logging is on; the base backup was not recorded.',
      );
    if (facts.binlogFormat === null)
      warnings.push(
        `Binary logging is off on ${sel.target.shown}: this base backup restores to the moment it was taken, and no later (set log_bin and binlog_format = ROW for point-in-time restores).`,
      );
    else if (sel.database === null)
      warnings.push('Taken with --url: no binary log archive is tied to it. Take base backups with --db NAME to restore them to a point in time (--at).');
    const finished = ctx.clock.now();
    const record: PhysicalRecord = {
      format: 1,
      id,
      database: sel.database,
      started_at: started.toISOString(),
      finished_at: finished.toISOString(),
      server: { url: sel.target.shown, version: version ?? facts.version, datadir: facts.datadir, server_id: facts.serverId },
      binlog: position && facts.binlogFormat !== null ? { ...position, format: facts.binlogFormat } : null,
      tool: MARIABACKUP,
      size: stored.size,
      sha256: stored.sha256,
      content: stored.content,
    };
    await putPhysicalRecord(repo, record);
    ctx.logger.info({ event: 'mysql.basebackup.done', id, size: stored.size, new_bytes: stored.newBytes, binlog: record.binlog }, 'physical base backup done');
    const { content, ...rest } = record;
    return { ...rest, chunks: content.length, new_bytes: stored.newBytes, warnings };
  } catch (e) {
    run.kill();
    const err = isPrismError(e) ? e : new PrismError('MYSQL_PHYSICAL_FAILED', `Taking the base backup failed: ${(e as Error)?.message ?? String(e)}`);
    ctx.logger.error({ event: 'mysql.basebackup.failed', id, code: err.id, error: err.message }, 'physical base backup failed');
    throw err;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    await lock.release().catch(() => {});
  }
}

export interface PhysicalListReport {
  repository: string;
  base_backups: Array<Omit<PhysicalRecord, 'content'> & { chunks: number }>;
}

/** `prism mysql basebackup list`: the physical base backups, oldest first. */
export async function listPhysicalBackups(ctx: AppContext): Promise<PhysicalListReport> {
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', 'prism mysql basebackup list', 60_000);
  try {
    const records = await listPhysicalRecords(repo);
    return { repository: ctx.config.storagePath, base_backups: records.map(({ content, ...rest }) => ({ ...rest, chunks: content.length })) };
  } finally {
    await lock.release().catch(() => {});
  }
}
