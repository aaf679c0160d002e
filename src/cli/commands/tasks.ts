import type { Command } from 'commander';
import { formatDateTime, formatDuration } from '../../core/format.js';
import { systemClock } from '../../core/clock.js';
import { cliHome } from '../context.js';
import { out, printJson, table } from '../output.js';
import { parseCount } from '../parse-count.js';
import { runAction } from '../run-action.js';

export function registerTasks(program: Command): void {
  program
    .command('tasks')
    .description('the task log: every job the service ran (job, trigger, start, end, status, error code), newest first')
    .option('--days <n>', 'look back this many days', '7')
    .option('--job <name>', 'only this job (full_backup, incremental_backup, cleanup, …; copy:NAME, or copy for every copy)')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (opts: { days: string; job?: string; json?: boolean }) => {
        const days = parseCount('--days', opts.days);
        const { tasksReport } = await import('../../daemon/tasks-report.js');
        const { tasks } = await tasksReport(await cliHome(), systemClock.now(), { days, job: opts.job });
        if (opts.json) return printJson({ days, tasks });
        if (tasks.length === 0) return out(`No tasks in the last ${opts.days} days${opts.job ? ` for ${opts.job}` : ''}.`);
        out(
          table(
            ['STARTED', 'JOB', 'TRIGGER', 'STATUS', 'DURATION', 'RESULT'],
            tasks.map((t) => [
              formatDateTime(new Date(t.started_at)),
              t.job,
              t.trigger,
              t.status,
              formatDuration(Date.parse(t.finished_at) - Date.parse(t.started_at)),
              `${t.error_code ? `[${t.error_code}] ` : ''}${t.message ?? ''}`,
            ]),
          ),
        );
      }),
    );
}
