import { ERROR_CODES, PrismError } from '../errors/index.js';
import type { Manifest } from '../repo/index.js';
import { checkBackups, type BackupCheck, type DataSubset } from '../snapshot/checker.js';
import { openRepository, type AppContext } from './context.js';
import { recordEvent } from './events.js';
import { resolveBackup } from './resolve-backup.js';

export interface VerifyOptions {
  id?: string | undefined;
  all?: boolean;
  data: DataSubset;
}

export interface VerifyReport {
  ok: boolean;
  backups: Array<BackupCheck & { status: string; checksum: 'verified' | 'mismatch' }>;
}

/**
 * Verifies one backup or all usable ones. A backup that fails is marked `corrupted` (shown by
 * list and info), its damaged files are named, and a high-severity event is written to
 * logs/events.log for alerting.
 */
export async function verifyBackups(ctx: AppContext, opts: VerifyOptions): Promise<VerifyReport> {
  const repo = await openRepository(ctx);
  const lock = await repo.lock('shared', 'prism backup verify');
  try {
    let manifests: Manifest[];
    if (opts.all) {
      manifests = (await repo.listManifests()).filter((m) => m.tree !== null && m.status !== 'failed' && m.status !== 'running');
    } else {
      const m = await repo.loadManifest(opts.id ?? '').catch((e) => {
        if (opts.id === undefined) throw new PrismError('INVALID_ARGUMENT', 'Name a backup to verify, or pass --all.');
        throw e;
      });
      if (m.tree === null) throw new PrismError('BACKUP_NOT_FOUND', `Backup ${m.id} is ${m.status} and holds no data to verify.`, { id: m.id });
      manifests = [m.status === 'corrupted' ? m : await resolveBackup(repo, { id: m.id })];
    }
    const checks = await checkBackups({ repo, manifests, data: opts.data });
    const report: VerifyReport = { ok: true, backups: [] };
    for (const [i, check] of checks.entries()) {
      const m = manifests[i]!;
      if (!check.ok) {
        report.ok = false;
        const message = `Verification failed: ${check.steps.filter((s) => !s.ok).map((s) => s.detail).join('; ')}`;
        await repo.saveManifest({ ...m, status: 'corrupted', error: { code: ERROR_CODES.CHECKSUM_MISMATCH.id, name: 'CHECKSUM_MISMATCH', message } });
        recordEvent(ctx.config.home, { time: ctx.clock.now().toISOString(), severity: 'high', event: 'verify.failed', backup: m.id, damaged: check.damaged.slice(0, 100), message });
        ctx.logger.error({ event: 'verify.failed', id: m.id, damaged: check.damaged.length }, message);
      } else {
        if (m.status === 'corrupted' && opts.data.kind === 'all') await repo.saveManifest({ ...m, status: 'completed', error: null });
        ctx.logger.info({ event: 'verify.ok', id: m.id }, 'verified');
      }
      report.backups.push({ ...check, status: check.ok ? (m.status === 'corrupted' ? 'completed' : m.status) : 'corrupted', checksum: check.ok ? 'verified' : 'mismatch' });
    }
    return report;
  } finally {
    await lock.release();
  }
}
