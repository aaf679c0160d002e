import { PrismError } from '../errors/index.js';
import { resolveDbTarget, type DbTarget } from '../source/db-credentials.js';
import { runBaseBackup, serverFacts } from '../source/pg-basebackup-run.js';
import { parseLsn, segmentOf } from '../source/pg-wal-name.js';
import { backupId } from './backup-id.js';
import { lockRepository, openRepository, type AppContext } from './context.js';
import { compressionSettings } from './create-backup.js';
import { asArchiveError } from './pg-archive-wal.js';
import { storeStream } from './pg-blob-store.js';
import { listBaseRecords, putBaseRecord, type BaseRecord } from './pg-records.js';

/**
 * `prism pg basebackup [--url URL]`: pg_basebackup's tar streamed into the repository as
 * chunks, recorded with its start and stop WAL location (from backup_label and backup_manifest)
 * once pg_basebackup has finished, i.e. once the server has archived the WAL the backup needs.
 */
export async function takeBaseBackup(ctx: AppContext, opts: { url?: string | undefined }): Promise<Omit<BaseRecord, 'content'>> {
  const target: DbTarget | undefined = opts.url ? resolveDbTarget({ url: opts.url }, process.env, undefined, '--url') : undefined;
  if (target && target.type !== 'postgres') throw new PrismError('INVALID_ARGUMENT', `--url ${target.shown}: base backups are for PostgreSQL (postgres://…).`);
  const facts = await serverFacts(target);
  if (facts.archiveMode === 'off') {
    throw new PrismError('PG_ARCHIVE_FAILED', "The server has archive_mode = off: without archived WAL a base backup cannot be recovered. Set archive_mode = on and archive_command = 'prism pg archive-wal %p', restart, and run this again.");
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
    const label = run.tar.files.get('backup_label')?.toString('utf8') ?? '';
    const manifest = JSON.parse(run.tar.files.get('backup_manifest')?.toString('utf8') ?? '{}') as { 'WAL-Ranges'?: Array<{ Timeline: number; 'Start-LSN': string; 'End-LSN': string }> };
    const range = manifest['WAL-Ranges']?.at(-1);
    const startLsn = /START WAL LOCATION: (\S+)/.exec(label)?.[1] ?? range?.['Start-LSN'];
    const timeline = Number(/START TIMELINE: (\d+)/.exec(label)?.[1] ?? range?.Timeline ?? facts.timeline);
    if (!startLsn || !range) throw new PrismError('PG_ARCHIVE_FAILED', 'pg_basebackup produced no backup_label or backup_manifest; the base backup was not recorded.');
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
    };
    await putBaseRecord(repo, record);
    ctx.logger.info({ event: 'pg.basebackup.done', id, size: stored.size, new_bytes: stored.newBytes, start_wal: record.start_wal, stop_wal: record.stop_wal }, 'base backup done');
    const { content: _c, ...rest } = record;
    return rest;
  } catch (e) {
    run.kill();
    const err = asArchiveError(e, 'taking the base backup');
    ctx.logger.error({ event: 'pg.basebackup.failed', id, code: err.id, error: err.message }, 'base backup failed');
    throw err;
  } finally {
    await lock.release().catch(() => {});
  }
}
