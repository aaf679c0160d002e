import { PrismError } from '../../../errors/index.js';
import { resolveDbTarget, type DbTarget } from '../../../source/db/db-credentials.js';
import { nextXid, runBaseBackup, serverFacts } from '../../../source/postgres/pg-basebackup-run.js';
import { parseLsn, segmentOf } from '../../../source/postgres/pg-wal-name.js';
import { backupId } from '../../backups/backup-id.js';
import { lockRepository, openRepository, type AppContext } from '../../context.js';
import { compressionSettings } from '../../backups/create-backup.js';
import { configuredTarget } from '../../databases/db-backup.js';
import { asArchiveError } from './pg-archive-wal.js';
import { storeStream } from '../blob-store.js';
import { listBaseRecords, putBaseRecord, readWalRecord, type BaseRecord } from './pg-records.js';

/** Which server `pg basebackup` reads: `--url`, `--db NAME` of backup.databases, else the database marked `pitr`, else libpq's environment. */
export function baseBackupTarget(ctx: AppContext, opts: { url?: string | undefined; db?: string | undefined }): DbTarget | undefined {
  if (opts.url !== undefined && opts.db !== undefined) throw new PrismError('INVALID_ARGUMENT', 'Give --url or --db, not both.');
  if (opts.url !== undefined) return resolveDbTarget({ url: opts.url }, process.env, undefined, '--url');
  const dbs = ctx.config.backup.databases;
  if (opts.db !== undefined) {
    const db = dbs.find((d) => d.name === opts.db);
    if (!db)
      throw new PrismError(
        'INVALID_ARGUMENT',
        `--db ${opts.db}: backup.databases has no database of that name (it has: ${dbs.map((d) => d.name).join(', ') || 'none'}).`,
        { db: opts.db },
      );
    return configuredTarget(db);
  }
  const pitr = dbs.find((d) => d.pitr);
  return pitr ? configuredTarget(pitr) : undefined;
}

/**
 * `prism pg basebackup [--url URL | --db NAME]`: pg_basebackup's tar streamed into the
 * repository as chunks, recorded with its start and stop WAL location (from backup_label and
 * backup_manifest) once pg_basebackup has finished, i.e. once the server has archived the WAL
 * the backup needs. `target` undefined: libpq's environment.
 */
export async function takeBaseBackup(ctx: AppContext, target: DbTarget | undefined): Promise<Omit<BaseRecord, 'content'> & { warnings: string[] }> {
  if (target && target.type !== 'postgres') throw new PrismError('INVALID_ARGUMENT', `${target.shown}: base backups are for PostgreSQL (postgres://…).`);
  const facts = await serverFacts(target);
  if (facts.archiveMode === 'off') {
    throw new PrismError(
      'PG_ARCHIVE_FAILED',
      `The server has archive_mode = off: without archived WAL a base backup cannot be recovered. Set archive_mode = on and archive_command = '/full/path/of/prism pg archive-wal %p --repo ${ctx.config.storagePath}' (the path \`command -v prism\` prints: the server's PATH may lack it), restart, and run this again.`,
    );
  }
  const repo = await openRepository(ctx, { create: true });
  const lock = await lockRepository(ctx, repo, 'shared', 'prism pg basebackup');
  const started = ctx.clock.now();
  const taken = new Set((await listBaseRecords(repo)).map((r) => r.id));
  const base = backupId(started, 'full').replace(/^backup_(.*)_full$/, 'pgbase_$1');
  let id = base;
  for (let n = 2; taken.has(id); n++) id = `${base}_${n}`;
  ctx.logger.info({ event: 'pg.basebackup.start', id, server: target?.shown ?? 'libpq defaults' }, 'base backup started');
  const run = runBaseBackup(target, `prism ${id}`);
  try {
    const stored = await storeStream(repo, run.stream, compressionSettings(ctx)).catch((e) => {
      run.kill();
      throw e;
    });
    await run.done;
    // transactions from this id on commit after the backup: a recovery to one of them can start from it
    const next = await nextXid(target).catch(() => undefined);
    const label = run.tar.files.get('backup_label')?.toString('utf8') ?? '';
    const manifest = JSON.parse(run.tar.files.get('backup_manifest')?.toString('utf8') ?? '{}') as {
      'WAL-Ranges'?: Array<{ Timeline: number; 'Start-LSN': string; 'End-LSN': string }>;
    };
    const range = manifest['WAL-Ranges']?.at(-1);
    const startLsn = /START WAL LOCATION: (\S+)/.exec(label)?.[1] ?? range?.['Start-LSN'];
    const timeline = Number(/START TIMELINE: (\d+)/.exec(label)?.[1] ?? range?.Timeline ?? facts.timeline);
    if (!startLsn || !range)
      throw new PrismError('PG_ARCHIVE_FAILED', 'pg_basebackup produced no backup_label or backup_manifest; the base backup was not recorded.');
    const finished = ctx.clock.now();
    const record: BaseRecord = {
      format: 1,
      id,
      started_at: started.toISOString(),
      finished_at: finished.toISOString(),
      server: { version: facts.version, system_identifier: facts.systemIdentifier, wal_segment_size: facts.segmentSize },
      timeline,
      start_lsn: startLsn,
      stop_lsn: range['End-LSN'],
      start_wal: segmentOf(timeline, parseLsn(startLsn), facts.segmentSize),
      stop_wal: segmentOf(range.Timeline, parseLsn(range['End-LSN']), facts.segmentSize),
      size: stored.size,
      sha256: stored.sha256,
      content: stored.content,
      label,
      ...(next !== undefined ? { next_xid: next } : {}),
    };
    await putBaseRecord(repo, record);
    ctx.logger.info(
      { event: 'pg.basebackup.done', id, size: stored.size, new_bytes: stored.newBytes, start_wal: record.start_wal, stop_wal: record.stop_wal },
      'base backup done',
    );
    // the server has archived the WAL the backup needs by now: if it is not here, archive_command writes elsewhere
    const missing: string[] = [];
    for (const name of new Set([record.start_wal, record.stop_wal])) if (!(await readWalRecord(repo, name))) missing.push(name);
    const warnings =
      missing.length === 0
        ? []
        : [
            `The WAL this base backup needs (${missing.join(', ')}) is not in this repository (${ctx.config.storagePath}): the server archived it elsewhere. Check that archive_command runs \`prism pg archive-wal %p\` with this repository; until then this base backup cannot be recovered from here.`,
          ];
    for (const w of warnings) ctx.logger.warn({ event: 'pg.basebackup.wal_missing', id, missing }, w);
    const { content: _c, ...rest } = record;
    return { ...rest, warnings };
  } catch (e) {
    run.kill();
    const err = asArchiveError(e, 'taking the base backup');
    ctx.logger.error({ event: 'pg.basebackup.failed', id, code: err.id, error: err.message }, 'base backup failed');
    throw err;
  } finally {
    await lock.release().catch(() => {});
  }
}
