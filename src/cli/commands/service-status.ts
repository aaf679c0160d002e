import type { Command } from 'commander';
import { formatDateTime } from '../../core/format.js';
import { systemClock } from '../../core/clock.js';
import { PrismError } from '../../errors/index.js';
import { cliContextOrConfigError, cliHome } from '../context.js';
import { out, printJson, reportError, table } from '../output.js';
import { runAction } from '../run-action.js';

const when = (iso: string | null | undefined): string => (iso ? formatDateTime(new Date(iso)) : '-');

function uptime(s: number): string {
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : m > 0 ? `${m}m ${s % 60}s` : `${s}s`;
}

export function registerServiceStatus(program: Command): void {
  program
    .command('status')
    .description('whether the prism service runs, the next run and the last result of each job')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (opts: { json?: boolean }) => {
        const { serviceStatus } = await import('../../daemon/service-status.js');
        const s = serviceStatus(await cliHome(), systemClock, await cliContextOrConfigError());
        // the service's state is shown whatever the configuration says; a broken one is reported after it
        const configError = s.config_error ? new PrismError('CONFIG_INVALID', String(s.config_error.message), {}) : undefined;
        if (opts.json) {
          printJson(s);
          return configError?.exitCode;
        }
        if (s.running) {
          out(`Service: running (pid ${s.pid}${s.uptime_seconds !== null ? `, up ${uptime(s.uptime_seconds)} since ${when(s.started_at)}` : ''})`);
          out(`Metrics: ${s.metrics_address ? `http://${s.metrics_address}/metrics` : 'off'}`);
          out(`Dashboard: ${s.dashboard_url ? `${s.dashboard_url} (\`prism ui --print-url\` prints the address with the login token)` : 'off'}`);
          if (s.running_job) out(`Running: ${s.running_job.job} (${s.running_job.trigger}, since ${when(s.running_job.started_at)})`);
        } else {
          out('Service: not running (`prism start` starts it)');
          if (s.stale_pid_file) out('  A stale pid file names a process that is gone (the service was killed); `prism start` removes it.');
        }
        if (s.active_alerts !== null) out(`Active alerts: ${s.active_alerts}`);
        if (s.alert_deliveries && s.alert_deliveries.pending > 0) {
          const per = Object.entries(s.alert_deliveries.by_receiver).map(([name, c]) => `${name} ${c.pending}${c.failed ? ` (${c.failed} failed)` : ''}`);
          out(
            `Alert deliveries pending: ${s.alert_deliveries.pending}, failed so far: ${s.alert_deliveries.failed} (${per.join(', ')}); retried at each evaluation`,
          );
        }
        if (configError) {
          out(
            `Jobs: not shown, the configuration is invalid${s.running ? ' (the running service keeps the one it started with: correct it before the service restarts)' : ''}.`,
          );
          return reportError(configError, false, false);
        }
        out('');
        out(
          table(
            ['JOB', 'SCHEDULE', 'NEXT RUN', 'LAST RUN', 'RESULT'],
            s.jobs.map((j) => [
              j.job,
              [j.schedule, j.after ? `after ${j.after.join('/')}` : null].filter((x) => x !== null).join(', '),
              when(j.next_run),
              when(j.last?.started_at),
              j.last ? `${j.last.status}${j.last.error_code ? ` [${j.last.error_code}]` : ''}` : '-',
            ]),
          ),
        );
      }),
    );
}
