import type { Command } from 'commander';
import type { RecoverReport } from '../../app/recovery/recover.js';
import { systemClock } from '../../core/clock.js';
import { formatDuration } from '../../core/format.js';
import { ERROR_CODES, PrismError } from '../../errors/index.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { out, printJson, reportFailure } from '../output.js';
import { parseDate } from '../parse-date.js';
import { runAction } from '../run-action.js';

interface Opts {
  from?: string;
  at?: string;
  dryRun?: boolean;
  set: string[];
  force?: boolean;
  clean?: boolean;
  json?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerRecover(program: Command): void {
  program
    .command('recover')
    .description('disaster recovery: environment, databases, configuration and files, rebuild — four checkpoints, rolled back if one fails')
    .option('--from <backup-id>', 'the backup to recover from (default: the latest completed one)')
    .option('--at <time>', 'the latest completed backup at or before TIME')
    .option('--dry-run', 'run checkpoint 1 (environment) only; change nothing')
    .option('--set <key=value>', 'adjust the restored configuration, e.g. backup.databases.0.url=… or gateway.json:db.host=… (repeatable)', collect, [])
    .option('--force', 'restore the files even while the prism service is running')
    .option('--clean', 'each database exactly as backed up: also set aside what it has and the backup lacks (as `prism db restore --clean`)')
    .option('--json', 'print the report as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: Opts & { repo?: string }) => {
        if (opts.from !== undefined && opts.at !== undefined) throw new PrismError('INVALID_ARGUMENT', 'Give either --from ID or --at TIME, not both.');
        const at = opts.at !== undefined ? await parseDate('--at', opts.at, systemClock.now(), 'end') : undefined;
        const { recover } = await import('../../app/recovery/recover.js');
        const r = await recover(await repoContext(opts, 'backup-restore.log'), {
          from: opts.from,
          at,
          dryRun: opts.dryRun ?? false,
          sets: opts.set,
          force: opts.force ?? false,
          clean: opts.clean ?? false,
        });
        if (opts.json) printJson(r);
        else out(render(r));
        if (r.ok) return 0;
        const code = r.rollback.some((s) => !s.ok) ? 'RECOVER_ROLLBACK_FAILED' : 'RECOVER_FAILED';
        return reportFailure(code, ERROR_CODES[code].title, opts.json);
      }),
    );
}

function render(r: RecoverReport): string {
  const lines = [`${r.dry_run ? 'Dry run: recovering' : 'Recovering'} from ${r.backup}`];
  for (const cp of r.checkpoints) {
    lines.push(`Checkpoint ${cp.n} (${cp.name}): ${cp.ok ? 'passed' : 'FAILED'}`);
    for (const c of cp.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  }
  if (r.failed) lines.push(`Failed at checkpoint ${r.failed.checkpoint}: ${r.failed.reason}`);
  for (const s of r.rollback) lines.push(`  rollback ${s.name}: ${s.ok ? 'done' : `FAILED: ${s.detail}`}`);
  if (r.ok && r.drop_safety_copies.length > 0)
    lines.push(
      `Safety copies are kept in the databases. Drop them when the recovered data is confirmed:\n${r.drop_safety_copies.map((s) => `  ${s}`).join('\n')}`,
    );
  if (r.ok) lines.push(r.dry_run ? 'Environment ready. Nothing was changed; run without --dry-run to recover.' : 'Recovered. Next: prism start.');
  lines.push(`Duration: ${formatDuration(r.duration_ms)}`);
  return lines.join('\n');
}
