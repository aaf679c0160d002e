import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { RestoreResult } from '../../app/index.js';
import { systemClock } from '../../core/clock.js';
import { formatBytes, formatCount, formatDuration } from '../../core/format.js';
import { ERROR_CODES, PrismError } from '../../errors/index.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { namePath } from '../named-paths.js';
import { err, out, printJson } from '../output.js';
import { parseDate } from '../parse-date.js';
import { progressBar } from '../progress-bar.js';
import { withInterruptSignal } from '../on-signal.js';
import { runAction } from '../run-action.js';

interface Opts {
  dryRun?: boolean;
  confirm?: boolean;
  target?: string;
  force?: boolean;
  safetyBackup: boolean;
  include: string[];
  exclude: string[];
  at?: string;
  autoChain?: boolean;
  incremental?: boolean;
  json?: boolean;
  progress: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerBackupRestore(backup: Command): void {
  backup
    .command('restore')
    .description('restore a backup (transactional: staged, verified, swapped in; rolled back on failure)')
    .argument('[backup-id]', 'the backup to restore (or --at TIME)')
    .option('--dry-run', 'show what would be created, overwritten and deleted; change nothing')
    .option('--confirm', 'do it (required when data would be overwritten or deleted)')
    .option('--target <dir>', 'restore into DIR instead of the live data directory')
    .option('--include <path>', 'restore only this path of the backup (repeatable)', collect, [])
    .option('--exclude <path>', 'leave this path as it is (repeatable)', collect, [])
    .option('--at <time>', 'the latest completed backup at or before TIME (e.g. "2026-02-07 03:00")')
    .option('--auto-chain', "restore the backup's full state in one step (every backup is complete)")
    .option('--incremental', "apply only the changes since the parent backup (the target must be in the parent's state)")
    .option('--force', 'restore even while the prism service is running')
    .option('--no-safety-backup', 'skip the "Pre-restore backup" of the current data')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the result as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (id: string | undefined, opts: Opts & { repo?: string }) => {
        if (id === undefined && opts.at === undefined)
          throw new PrismError('INVALID_ARGUMENT', 'Name the backup to restore (`prism backup list`), or give --at TIME.');
        if (id !== undefined && opts.at !== undefined) throw new PrismError('INVALID_ARGUMENT', 'Give either a backup id or --at, not both.');
        if (opts.dryRun && opts.confirm) throw new PrismError('INVALID_ARGUMENT', '--dry-run and --confirm exclude each other: preview first, then confirm.');
        if (opts.autoChain && opts.incremental)
          throw new PrismError('INVALID_ARGUMENT', '--auto-chain restores the whole state; --incremental only the last changes: choose one.');
        const at = opts.at !== undefined ? await parseDate('--at', opts.at, systemClock.now(), 'end') : undefined;
        const ctx = await repoContext(opts, 'backup-restore.log');
        if (opts.target !== undefined) namePath({ role: 'restore target', path: resolve(opts.target), setting: '--target' });
        const { restoreBackup } = await import('../../app/restore/restore-backup.js');
        const onProgress = await progressBar(opts.progress && !opts.json);
        const r = await withInterruptSignal((signal) =>
          restoreBackup(ctx, {
            id,
            at,
            target: opts.target,
            dryRun: opts.dryRun ?? false,
            confirm: opts.confirm ?? false,
            force: opts.force ?? false,
            safetyBackup: opts.safetyBackup,
            include: opts.include,
            exclude: opts.exclude,
            incremental: opts.incremental ?? false,
            signal,
            onProgress,
          }),
        );
        if (opts.json) printJson(r);
        else out(render(r));
        if (r.problems.length > 0) {
          if (!opts.json) err(`Fix: ${ERROR_CODES.CHECKSUM_MISMATCH.fix}`);
          return ERROR_CODES.CHECKSUM_MISMATCH.exitCode;
        }
        return 0;
      }),
    );
}

function render(r: RestoreResult): string {
  const p = r.plan;
  const lines = [
    `${r.dry_run ? 'Dry run: restoring' : 'Restored'} ${r.backup} into ${r.target}${r.live ? ' (live data directory)' : ''}`,
    `  ${r.dry_run ? 'Would create:   ' : 'Created:        '} ${formatCount(p.create.count)} (${formatBytes(p.create.bytes)})`,
    `  ${r.dry_run ? 'Would overwrite:' : 'Overwritten:    '} ${formatCount(p.overwrite.count)} (${formatBytes(p.overwrite.bytes)})`,
    `  ${r.dry_run ? 'Would delete:   ' : 'Deleted:        '} ${formatCount(p.remove.count)} (${formatBytes(p.remove.bytes)})`,
    `  Unchanged:       ${formatCount(p.unchanged)}`,
  ];
  if (r.untouched.length > 0) lines.push(`  Left as is:      ${r.untouched.join(', ')} (prism's own files in the data directory are never restored over)`);
  if (r.dry_run && r.changes) {
    const show = (label: string, xs: string[]) => {
      for (const x of xs.slice(0, 20)) lines.push(`    ${label} ${x}`);
      if (xs.length > 20) lines.push(`    … ${xs.length - 20} more (--json lists all)`);
    };
    show('+', r.changes.create);
    show('~', r.changes.overwrite);
    show('-', r.changes.remove);
    lines.push('Nothing was changed. Run with --confirm to restore.');
  } else {
    lines.push(
      `  Files:        ${formatCount(r.files)} (${formatBytes(r.bytes)})${r.resumed_files ? `, ${formatCount(r.resumed_files)} already in place from an interrupted run` : ''}`,
    );
    if (r.safety_backup) lines.push(`  Safety backup: ${r.safety_backup} (restore it to undo)`);
    lines.push(`  Duration:     ${formatDuration(r.duration_ms)}`);
    for (const pr of r.problems.slice(0, 20)) lines.push(`  NOT restored: ${pr.path}: [${pr.code}] ${pr.message}`);
    lines.push(r.live ? 'Next: prism health check data, then prism start.' : '');
  }
  return lines.filter((l) => l !== '').join('\n');
}
