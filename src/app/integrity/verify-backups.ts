import { PrismError } from '../../errors/index.js';
import { withProgressFile } from '../monitoring/progress-file.js';
import type { Manifest, PackDamage } from '../../repo/index.js';
import { checkRepository, type BackupCheck, type DataSubset } from '../../snapshot/checker.js';
import { openRepository, type AppContext } from '../context.js';
import { recordRepositoryEvent } from '../monitoring/events.js';
import { markCorrupted, markSharingBackups } from './mark-corrupted.js';
import { checkableBackups, recordDamagedManifests, type DamagedManifest } from './checkable-backups.js';
import { archiveChecks, scanArchives, type BinlogArchiveCheck, type PgArchiveCheck } from './archive-objects.js';
import { checkBackupId } from '../backups/backup-info.js';
import { resolveBackup } from '../backups/resolve-backup.js';

export type { BinlogArchiveCheck, PgArchiveCheck };

export interface VerifyOptions {
  id?: string | undefined;
  all?: boolean;
  data: DataSubset;
}

export interface VerifyReport {
  ok: boolean;
  /** Manifest files that could not be read (their backups cannot be verified or restored). */
  damaged_manifests: DamagedManifest[];
  backups: Array<BackupCheck & { status: string; checksum: 'verified' | 'mismatch' }>;
  /** Packs read whose bytes are damaged outside the chunks checked (magic, trailer, end, frames of other blobs). */
  damaged_packs: PackDamage[];
  /** Other backups found to share the damaged chunks: marked corrupted too. */
  also_corrupted: string[];
  /** With --all, when the repository holds any: the PostgreSQL archive's records (WAL files, base backups) and their data. */
  pg_archive: PgArchiveCheck | null;
  /** With --all, when the repository holds any: the MySQL/MariaDB binary log archive's records and their data. */
  binlog_archive: BinlogArchiveCheck | null;
}

/**
 * Verifies one backup or all usable ones (with `all`, also the records of the PostgreSQL and the
 * MySQL/MariaDB point-in-time archives and their data). A backup that fails is marked `corrupted`
 * (shown by list and info), its damaged files are named, and a high-severity event is written to
 * logs/events.log for alerting; a damaged archive gets one too (`archive: pg|mysql`), and a
 * clean check of it a `verify.ok` that resolves the alert.
 */
export function verifyBackups(ctx: AppContext, opts: VerifyOptions): Promise<VerifyReport> {
  return withProgressFile(ctx, 'verify', opts.all ? 'verify all' : `verify ${opts.id ?? ''}`.trim(), undefined, () => verifyBackupsReporting(ctx, opts));
}

async function verifyBackupsReporting(ctx: AppContext, opts: VerifyOptions): Promise<VerifyReport> {
  const repo = await openRepository(ctx);
  const lock = await repo.lock('shared', 'prism backup verify');
  try {
    let manifests: Manifest[];
    const damagedManifests: DamagedManifest[] = [];
    if (opts.all) {
      manifests = await checkableBackups(repo, damagedManifests);
    } else {
      if (opts.id === undefined) throw new PrismError('INVALID_ARGUMENT', 'Name a backup to verify, or pass --all.');
      checkBackupId(opts.id);
      const m = await repo.loadManifest(opts.id);
      if (m.tree === null) throw new PrismError('BACKUP_NOT_FOUND', `Backup ${m.id} is ${m.status} and holds no data to verify.`, { id: m.id });
      manifests = [m.status === 'corrupted' ? m : await resolveBackup(repo, { id: m.id })];
    }
    const archives = opts.all ? await scanArchives(repo) : undefined;
    const checked = await checkRepository({
      repo,
      manifests,
      data: opts.data,
      objects: archives?.objects ?? [],
      repoRoot: ctx.config.storagePath,
      concurrency: ctx.config.concurrency,
    });
    const checks = checked.backups;
    // damaged copies leave the index at once: no later backup deduplicates onto them
    await repo.recordDamaged(
      [...checked.damagedChunks].flatMap(([id, reason]) => {
        const loc = repo.index.get(id);
        return loc ? [{ id, loc, reason }] : [];
      }),
    );
    const report: VerifyReport = {
      ok: damagedManifests.length === 0 && checked.damagedPacks.length === 0,
      backups: [],
      damaged_manifests: damagedManifests,
      damaged_packs: checked.damagedPacks,
      also_corrupted: [],
      pg_archive: null,
      binlog_archive: null,
    };
    if (archives) {
      // only a full read of the data clears an archive's alert
      const a = archiveChecks(ctx, archives, checked.objects, opts.data.kind === 'all');
      report.pg_archive = a.pg;
      report.binlog_archive = a.mysql;
      if (a.pg?.ok === false || a.mysql?.ok === false) report.ok = false;
    }
    recordDamagedManifests(ctx, damagedManifests);
    for (const [i, check] of checks.entries()) {
      const m = manifests[i]!;
      if (!check.ok) {
        report.ok = false;
        await markCorrupted(ctx, repo, m, check);
      } else {
        if (m.status === 'corrupted' && opts.data.kind === 'all') await repo.saveManifest({ ...m, status: 'completed', error: null });
        ctx.logger.info({ event: 'verify.ok', id: m.id }, 'verified');
      }
      // a corrupted backup is cleared only by a full read of its data
      const cleared = m.status === 'corrupted' && opts.data.kind === 'all';
      const verified = check.ok && (m.status !== 'corrupted' || cleared);
      report.backups.push({ ...check, status: !check.ok ? 'corrupted' : cleared ? 'completed' : m.status, checksum: verified ? 'verified' : 'mismatch' });
      if (!verified) report.ok = false;
      // clears a High alert raised by an earlier verify.failed of this backup
      else recordRepositoryEvent(ctx, { time: ctx.clock.now().toISOString(), severity: 'info', event: 'verify.ok', backup: m.id });
    }
    if (checked.damagedChunks.size > 0 && !opts.all)
      report.also_corrupted = await markSharingBackups(
        ctx,
        manifests.map((m) => m.id),
      );
    return report;
  } finally {
    await lock.release();
  }
}
