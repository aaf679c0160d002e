import type { Command } from 'commander';
import type { DrillRecord } from '../../app/index.js';
import { formatDateTime } from '../../core/format.js';
import { PrismError } from '../../errors/index.js';
import { REPO_OPTION, repoContext, cliHome } from '../context.js';
import { out, printJson, reportFailure, table } from '../output.js';
import { withInterruptSignal } from '../on-signal.js';
import { runAction } from '../run-action.js';

interface Opts {
  backup?: string;
  history?: boolean;
  json?: boolean;
}

export function registerDrill(program: Command): void {
  program
    .command('drill')
    .description(
      'restore drill (SOP 7.4): restore a backup to a scratch directory, verify every file, run the health check, record the RTO (--repo: from a copy)',
    )
    .option('--backup <id>', 'the backup to drill (default: the latest completed)')
    .option('--history', 'list past drills')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: Opts & { repo?: string }) => {
        if (opts.history) {
          if (opts.backup !== undefined) throw new PrismError('INVALID_ARGUMENT', '--history lists past drills; it takes no --backup.');
          const { readDrills } = await import('../../app/integrity/drill-history.js');
          const drills = readDrills(await cliHome());
          if (opts.json) printJson(drills);
          else out(renderHistory(drills));
          return 0;
        }
        const ctx = await repoContext(opts);
        const { runDrill } = await import('../../app/integrity/drill.js');
        const d = await withInterruptSignal((signal) => runDrill(ctx, { backupId: opts.backup, trigger: 'manual', signal }));
        if (opts.json) printJson(d);
        else out(renderDrill(d));
        if (d.status === 'passed') return 0;
        return reportFailure(
          'DRILL_FAILED',
          `Restore drill of ${d.backup_id}${d.repository !== undefined ? ` from ${d.repository}` : ''} failed: ${d.error?.message ?? 'see above'}`,
          opts.json,
        );
      }),
    );
}

function renderDrill(d: DrillRecord): string {
  const lines = [
    `Restore drill of ${d.backup_id}${d.repository !== undefined ? ` from ${d.repository}` : ''}: ${d.status.toUpperCase()}`,
    `  Files checked: ${d.files_checked}`,
    `  RTO: ${d.rto_seconds.toFixed(2)} s (target ${d.target_seconds} s${d.status === 'passed' ? (d.within_target ? ', met' : ', EXCEEDED') : ''})`,
  ];
  for (const p of d.problems ?? []) lines.push(`  ${p.path}: ${p.message}`);
  for (const w of d.warnings ?? []) lines.push(`  Warning: ${w.path}: ${w.message}`);
  return lines.join('\n');
}

function renderHistory(drills: DrillRecord[]): string {
  if (drills.length === 0) return 'No drills yet (`prism drill` runs one).';
  return table(
    ['TIME', 'REPOSITORY', 'BACKUP', 'TRIGGER', 'STATUS', 'RTO', 'TARGET', 'FILES', 'ERROR'],
    [...drills]
      .reverse()
      .map((d) => [
        formatDateTime(new Date(d.time)),
        d.repository ?? 'primary',
        d.backup_id ?? '-',
        d.trigger,
        d.status,
        `${d.rto_seconds.toFixed(2)} s`,
        `${d.target_seconds} s`,
        String(d.files_checked),
        d.error ? `${d.error.code}: ${d.error.message}`.slice(0, 100) : '',
      ]),
  );
}
