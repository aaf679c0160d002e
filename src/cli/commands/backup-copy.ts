import type { Command } from 'commander';
import type { CopyReport } from '../../app/copies/copy-backups.js';
import { formatBytes, formatDuration } from '../../core/format.js';
import { PrismError } from '../../errors/index.js';
import { cliContext } from '../context.js';
import { err, out, printJson } from '../output.js';
import { progressBar } from '../progress-bar.js';
import { runAction } from '../run-action.js';

interface Opts {
  to?: string;
  all?: boolean;
  json?: boolean;
}

export function registerBackupCopy(backup: Command): void {
  backup
    .command('copy')
    .description('copy backups into a copy of the repository (backup.copies): only what the copy lacks moves')
    .argument('[backup-id...]', 'the backups to copy (with the backups they build on)')
    .option('--to <copy>', 'a copy named in backup.copies, or a path or location (default: the only configured copy)')
    .option('--all', 'copy every backup (and the point-in-time archives)')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (ids: string[], opts: Opts) => {
        if (ids.length > 0 && opts.all) throw new PrismError('INVALID_ARGUMENT', 'Give backup ids or --all, not both.');
        if (ids.length === 0 && !opts.all) throw new PrismError('INVALID_ARGUMENT', 'Name the backups to copy (`prism backup list`), or pass --all.');
        const ctx = await cliContext();
        const { copyTarget } = await import('../../app/copies/copy-target.js');
        const { copyAndRecord } = await import('../../app/copies/copy-run.js');
        const targets = opts.to !== undefined ? [copyTarget(ctx.config, opts.to)] : ctx.config.copies;
        if (targets.length !== 1) {
          throw new PrismError(
            'INVALID_ARGUMENT',
            targets.length === 0
              ? 'No copy is configured (backup.copies): say where with --to PATH|LOCATION, or add a copy to the configuration.'
              : `Several copies are configured (${targets.map((t) => t.name).join(', ')}): say which with --to NAME.`,
          );
        }
        const report = await copyAndRecord(ctx, targets[0]!, { ...(opts.all ? {} : { ids }), onProgress: await progressBar(!opts.json) });
        if (opts.json) printJson(report);
        else out(render(report));
        for (const s of report.skipped) err(`Not copied: ${s.id}: ${s.reason}`);
        return report.skipped.length > 0 ? 1 : 0;
      }),
    );
}

function render(r: CopyReport): string {
  const lines = [
    `Copy ${r.copy} (${r.repository}): ${r.copied.length} backup(s) copied${r.already_there > 0 ? `, ${r.already_there} already there` : ''}.`,
    `  data: ${r.packs_copied} pack(s), ${formatBytes(r.bytes_copied)}${r.packs_present > 0 ? ` (${r.packs_present} pack(s) already there)` : ''}; archive records: ${r.records_copied}; ${formatDuration(r.duration_ms)}`,
  ];
  for (const id of r.copied) lines.push(`  ${id}`);
  return lines.join('\n');
}
