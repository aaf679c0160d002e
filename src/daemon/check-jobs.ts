import type { Job } from './job.js';

/**
 * Background consistency (issue: 异步任务机制): reads the next share of the packs, repairs what
 * the live files can restore, and asks for a full backup when data is lost for good.
 */
export const verifyJob: Job = {
  name: 'verify',
  schedule: 'verify',
  run: async (ctx, { signal, trigger }) => {
    const { backgroundVerify } = await import('../app/integrity/background-verify.js');
    const r = await backgroundVerify(ctx, { signal, trigger, recordRun: false });
    const details = {
      packs_read: r.packs_read.length,
      packs_total: r.packs_total,
      runs_per_period: r.runs_per_period,
      backups_checked: r.backups_checked,
      damaged_chunks: r.damaged_chunks,
      damaged_archives: r.damaged_archives,
      repaired_chunks: r.repaired.chunks,
      corrupted: r.corrupted.map((c) => c.id),
      needs_full_backup: r.needsFullBackup,
    };
    const followUps = r.needsFullBackup ? ['full_backup'] : [];
    if (r.ok)
      return {
        message: `${r.packs_read.length} of ${r.packs_total} pack(s) read${r.repaired.chunks > 0 ? `, ${r.repaired.chunks} chunk(s) repaired` : ''}`,
        details,
        followUps,
      };
    return {
      status: 'failed',
      error_code: 'ERR_BACKUP_005',
      message: `damaged data left in ${r.corrupted.length + r.still_corrupted.length} backup(s)${r.damaged_archives.length > 0 ? ` and the ${r.damaged_archives.join(' and ')} point-in-time archive` : ''}${r.needsFullBackup ? '; a full backup follows' : ''}`,
      details,
      followUps,
    };
  },
};

/** SOP 7.4: a monthly restore drill, its RTO compared with backup.drill.rto_target_seconds. */
export const drillJob: Job = {
  name: 'drill',
  schedule: 'drill',
  run: async (ctx, { signal, trigger }) => {
    const { runDrill } = await import('../app/integrity/drill.js');
    const d = await runDrill(ctx, { trigger, signal });
    const details = {
      backup_id: d.backup_id,
      rto_seconds: d.rto_seconds,
      target_seconds: d.target_seconds,
      within_target: d.within_target,
      files_checked: d.files_checked,
      ...(d.warnings ? { warnings: d.warnings } : {}),
    };
    if (d.status === 'passed') return { message: `${d.backup_id}: RTO ${d.rto_seconds} s (target ${d.target_seconds} s)`, details };
    return { status: 'failed', error_code: d.error?.code ?? 'ERR_PRISM_DRILL_FAILED', message: d.error?.message ?? 'the drill failed', details };
  },
};
