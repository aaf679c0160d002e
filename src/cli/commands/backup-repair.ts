import type { Command } from 'commander';
import type { RepairIndexReport } from '../../app/integrity/repair-index.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { out, printJson, reportFailure } from '../output.js';
import { withInterruptSignal } from '../on-signal.js';
import { parseDuration } from '../parse-duration.js';
import { runAction } from '../run-action.js';

/** `prism backup repair …`: rebuilds what a damaged repository can no longer be read through. */
export function registerBackupRepair(backup: Command): void {
  const repair = backup
    .command('repair')
    .description('repair a damaged repository: `repair index` rebuilds the index from the packs; `repair undelete` removes delete markers that hide objects');
  repair
    .command('index')
    .description('rebuild the index from the packs (after "index checksum mismatch"); intact frames of damaged packs are copied into new packs')
    .option('--lock-wait <duration>', 'wait this long for other prism processes (e.g. 5m)')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: { lockWait?: string; json?: boolean; repo?: string }) => {
        const lockWaitMs = opts.lockWait !== undefined ? parseDuration('--lock-wait', opts.lockWait) : undefined;
        const ctx = await repoContext(opts);
        const { repairIndex } = await import('../../app/integrity/repair-index.js');
        const report = await withInterruptSignal((signal) => repairIndex(ctx, { signal, ...(lockWaitMs !== undefined ? { lockWaitMs } : {}) }));
        if (opts.json) printJson(report);
        else out(render(report));
        if (report.ok) return 0;
        return reportFailure(
          'CHECKSUM_MISMATCH',
          'Checksum mismatch: data that backups need could not be recovered; they are marked corrupted.',
          opts.json,
          'run `prism backup create --type full`: it stores fresh copies of everything the live files still hold.',
        );
      }),
    );
  repair
    .command('undelete')
    .description('bring back objects hidden by delete markers in a repository under object lock (backup.object_lock)')
    .option('--dry-run', 'list what would be brought back')
    .option('--lock-wait <duration>', 'wait this long for other prism processes (e.g. 5m)')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: { dryRun?: boolean; lockWait?: string; json?: boolean; repo?: string }) => {
        const lockWaitMs = opts.lockWait !== undefined ? parseDuration('--lock-wait', opts.lockWait) : undefined;
        const { undeleteRepository } = await import('../../app/integrity/undelete.js');
        const r = await undeleteRepository(await repoContext(opts), { dryRun: opts.dryRun ?? false, ...(lockWaitMs !== undefined ? { lockWaitMs } : {}) });
        if (opts.json) return printJson(r);
        if (r.restored.length === 0) return out('No object of the repository is hidden by a delete marker.');
        for (const name of r.restored.slice(0, 50)) out(`  ${name}`);
        if (r.restored.length > 50) out(`  … ${r.restored.length - 50} more (--json lists all)`);
        out(
          r.dry_run
            ? `${r.restored.length} hidden object(s) would read again (${r.markers} delete marker(s) to remove).`
            : `${r.restored.length} object(s) read again (${r.markers} delete marker(s) removed). Run \`prism backup verify --all\`.`,
        );
      }),
    );
}

function render(r: RepairIndexReport): string {
  const lines = [`Index rebuilt from ${r.packs_read} pack(s): ${r.blobs} blob(s) indexed in ${r.index}`];
  for (const f of r.damaged_index_files) lines.push(`  replaced damaged index file ${f.name}: ${f.message}`);
  for (const p of r.damaged_packs) lines.push(`  DAMAGED ${p.part}: ${p.message}; ${p.blobs_kept} blob(s) copied into a new pack, ${p.blobs_lost} lost`);
  for (const p of r.missing_packs) lines.push(`  pack ${p.slice(0, 12)} is missing: its blobs are lost`);
  if (r.packs_written > 0) lines.push(`  ${r.packs_written} new pack(s) written; \`prism backup prune\` deletes the damaged packs no index names any more`);
  lines.push(
    r.lost_blobs > 0
      ? `  Not recovered: ${r.lost_blobs} blob(s); the next backup stores fresh copies of what the live files still hold`
      : '  Nothing lost that the packs or a readable index file named',
  );
  for (const c of r.corrupted) {
    lines.push(`  ${c.id}: corrupted (needs data that was lost)`);
    for (const f of c.damaged.slice(0, 20)) lines.push(`    damaged: ${f}`);
    if (c.damaged.length > 20) lines.push(`    … ${c.damaged.length - 20} more (--json lists all)`);
  }
  for (const d of r.damaged_records) lines.push(`  ${d.name}: DAMAGED: ${d.reason}`);
  for (const d of r.damaged_manifests) lines.push(`  ${d.name}: DAMAGED manifest: ${d.message}`);
  lines.push(r.ok ? 'Status: ok' : 'Status: DAMAGED');
  return lines.join('\n');
}
