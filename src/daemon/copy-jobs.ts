import type { AppContext } from '../app/index.js';
import type { CopyTarget } from '../config/index.js';
import { formatBytes } from '../core/format.js';
import { ERROR_CODES, isPrismError } from '../errors/index.js';
import { whenUnlocked } from './backup-jobs.js';
import type { Job } from './job.js';

/** The backup jobs a copy with `after_backup` follows. */
const BACKUP_JOBS = ['full_backup', 'incremental_backup'] as const;

/** `copy:NAME`: the job (and task log name) of a copy of backup.copies. */
export function copyJobName(copy: string): string {
  return `copy:${copy}`;
}

/** One job per copy of backup.copies: on the copy's `schedule`, and (`after_backup`) after every backup job that ends ok. */
export function copyJobs(ctx: AppContext): Job[] {
  return ctx.config.copies.map((target, i) => copyJob(target, i));
}

function copyJob(target: CopyTarget, index: number): Job {
  return {
    name: copyJobName(target.name),
    schedule: { key: `backup.copies[${index}].schedule`, expression: target.schedule },
    after: target.afterBackup ? BACKUP_JOBS : [],
    run: async (ctx, run) => {
      const { copyJob: copyAndClean } = await import('../app/copies/copy-run.js');
      const r = await whenUnlocked(ctx, run, () => copyAndClean(ctx, target, { signal: run.signal })).catch((e) => {
        if (isPrismError(e) && e.code === 'REPO_NOT_FOUND' && e.details['path'] === ctx.config.storagePath) return undefined;
        throw e;
      });
      if (!r) return { status: 'skipped', message: 'no repository yet: nothing to copy', details: { copy: target.name } };
      const details = {
        copy: target.name,
        repository: target.location,
        copied: r.copied.length,
        bytes: r.bytes_copied,
        packs: r.packs_copied,
        already_there: r.already_there,
        backups: r.copied,
        latest: r.latest?.id ?? null,
        skipped: r.skipped,
        removed: r.removed,
        freed_bytes: r.freed_bytes,
      };
      const message =
        `${r.copied.length} backup(s) copied to ${target.name} (${formatBytes(r.bytes_copied)})` +
        (r.already_there > 0 ? `, ${r.already_there} already there` : '') +
        (r.removed.length > 0 ? `; its retention removed ${r.removed.length}, ${formatBytes(r.freed_bytes)} freed` : '');
      // data the primary lost cannot be copied: seen here, and by the primary's own verification
      if (r.skipped.length > 0)
        return {
          status: 'failed',
          error_code: ERROR_CODES.CHECKSUM_MISMATCH.id,
          message: `${message}; ${r.skipped.length} not copied: ${r.skipped[0]!.id}: ${r.skipped[0]!.reason}`,
          details,
        };
      return { message, details };
    },
  };
}
