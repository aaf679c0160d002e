import type { AppContext, Manifest } from '../app/index.js';
import type { BackupType } from '../core/types.js';
import { ERROR_CODES, PrismError, isPrismError } from '../errors/index.js';
import type { Job, JobOutcome, JobRun } from './job.js';

/** A scheduled job waits this long for a manual backup or cleanup that holds the repository. */
const LOCK_WAIT_MS = 10 * 60_000;
const LOCK_RETRY_MS = 2_000;

/**
 * Runs `fn` (which takes the repository lock without waiting), retrying while another process
 * holds the lock, for up to LOCK_WAIT_MS; a stop of the service ends the wait at once.
 */
export async function whenUnlocked<T>(ctx: AppContext, run: JobRun, fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      if (!isPrismError(e) || e.code !== 'REPO_LOCKED' || attempt * LOCK_RETRY_MS >= LOCK_WAIT_MS) throw e;
    }
    await ctx.clock.sleep(LOCK_RETRY_MS, run.signal);
    if (run.signal.aborted) throw new PrismError('INTERRUPTED', 'Stopped while waiting for the repository lock; nothing was changed.');
  }
}

function disabled(ctx: AppContext): JobOutcome | undefined {
  return ctx.config.backup.enabled ? undefined : { status: 'skipped', message: 'backups are disabled (backup.enabled is false)' };
}

async function scheduledBackup(ctx: AppContext, type: BackupType, run: JobRun, comment: string): Promise<Manifest> {
  const { createBackup } = await import('../app/backups/create-backup.js');
  return whenUnlocked(ctx, run, () => createBackup(ctx, { type, trigger: 'scheduled', comment, signal: run.signal }));
}

function backupOutcome(m: Manifest, extra: JobOutcome = {}): JobOutcome {
  const facts = {
    backup_id: m.id,
    type: m.type,
    files: m.stats.files,
    original_bytes: m.stats.original_bytes,
    stored_bytes: m.stats.stored_bytes,
    duration_ms: m.duration_ms,
  };
  const details = { ...facts, ...extra.details };
  if (m.status === 'partial') {
    return {
      ...extra,
      status: 'failed',
      error_code: m.error?.code ?? ERROR_CODES.PERMISSION_DENIED.id,
      message: `${m.id} is partial: ${m.error?.message ?? 'some files could not be read'}`,
      details,
    };
  }
  return { ...extra, message: extra.message ?? `${m.id} ${m.status}`, details };
}

export const fullBackupJob: Job = {
  name: 'full_backup',
  schedule: 'full_backup',
  run: async (ctx, run) => disabled(ctx) ?? backupOutcome(await scheduledBackup(ctx, 'full', run, `Scheduled full backup (${run.trigger})`)),
};

/** An incremental with no completed full backup to build on is promoted to a full backup (and the record says so). */
export const incrementalBackupJob: Job = {
  name: 'incremental_backup',
  schedule: 'incremental_backup',
  run: async (ctx, run) => {
    const off = disabled(ctx);
    if (off) return off;
    const { listBackups } = await import('../app/backups/list-backups.js');
    const fulls = await listBackups(ctx, { type: 'full' }, { missing: 'empty' });
    if (!fulls.some((m) => m.status === 'completed')) {
      const m = await scheduledBackup(ctx, 'full', run, `Scheduled incremental backup promoted to full: no completed full backup yet (${run.trigger})`);
      return backupOutcome(m, { message: `no completed full backup yet: promoted to a full backup, ${m.id} ${m.status}`, details: { promoted_to_full: true } });
    }
    return backupOutcome(await scheduledBackup(ctx, 'incremental', run, `Scheduled incremental backup (${run.trigger})`));
  },
};

/** SOP 4.1 automatic cleanup: the retention policy, then prune. It cannot stop half-way, so a stop waits for it. */
export const cleanupJob: Job = {
  name: 'cleanup',
  schedule: 'cleanup',
  run: async (ctx, run) => {
    const { cleanupBackups } = await import('../app/maintenance/retention.js');
    const r = await whenUnlocked(ctx, run, () => cleanupBackups(ctx)).catch((e) => {
      if (isPrismError(e) && e.code === 'REPO_NOT_FOUND') return undefined;
      throw e;
    });
    if (!r) return { status: 'skipped', message: 'no repository yet: nothing to clean up' };
    const pg = r.pg_archive;
    const pgPart =
      pg.removed_base_backups.length + pg.wal.expired.length > 0
        ? `, ${pg.removed_base_backups.length} PostgreSQL base backup(s) and ${pg.wal.expired.length} WAL file(s) expired`
        : '';
    const binlogs = r.binlog_archive.databases.reduce((n, d) => n + d.expired.length, 0);
    const mysqlBases = r.binlog_archive.removed_base_backups;
    const binlogPart =
      mysqlBases.length + binlogs > 0 ? `, ${mysqlBases.length} MariaDB physical base backup(s) and ${binlogs} binary log file(s) expired` : '';
    const future = r.future_dated.map((f) => f.id);
    const futurePart = future.length > 0 ? `; ${future.length} backup(s) dated in the future neither counted nor removed: ${future.join(', ')}` : '';
    return {
      message: `${r.removed.length} backup(s) removed${pgPart}${binlogPart}, ${r.prune.freedBytes} bytes freed${futurePart}`,
      details: {
        removed: r.removed,
        ...(future.length > 0 ? { future_dated: future } : {}),
        pg_base_backups_removed: pg.removed_base_backups,
        pg_wal_expired: pg.wal.expired.length,
        mysql_base_backups_removed: mysqlBases,
        binlog_expired: binlogs,
        freed_bytes: r.prune.freedBytes,
      },
    };
  },
};
