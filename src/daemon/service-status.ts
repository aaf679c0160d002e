import type { AppContext, TaskRecord } from '../app/index.js';
import type { Clock } from '../core/clock.js';
import { isPrismError, type PrismError } from '../errors/index.js';
import { pidInFile, runningServicePid } from '../app/monitoring/service-state.js';
import { readTasks } from '../app/monitoring/task-log.js';
import { alertSource as defaultAlertSource, type AlertSource } from './alert-source.js';
import type { Job } from './job.js';
import { jobsFor } from './job-table.js';
import { compileSchedule, nextRun, type ScheduledJob } from './schedule.js';
import { readServiceState, type ServiceState } from './service-state.js';

export interface JobStatus {
  job: string;
  /** Its cron expression; null for a job that only runs after others. */
  schedule: string | null;
  /** The jobs after whose every ok run it runs (a copy with after_backup). */
  after?: string[];
  next_run: string | null;
  /** The last run recorded in the task log. */
  last: TaskRecord | null;
}

export interface ServiceStatus {
  running: boolean;
  pid: number | null;
  started_at: string | null;
  uptime_seconds: number | null;
  metrics_address: string | null;
  /** The dashboard's bound host:port and URL (without the token: `prism ui --print-url` gives that), null when it is off or the service is not running. */
  dashboard_address: string | null;
  dashboard_url: string | null;
  running_job: ServiceState['running_job'];
  /** A pid file names a process that is gone (the service was killed); `prism start` removes it. */
  stale_pid_file: boolean;
  jobs: JobStatus[];
  /** Active alerts, null where alerting is not available. */
  active_alerts: number | null;
  /** Alert notifications not delivered yet (pending), and of them those tried in vain (failed). */
  alert_deliveries: { pending: number; failed: number; by_receiver: Record<string, { pending: number; failed: number }> } | null;
  /** Why the jobs are not listed: config/backup.json (or the environment) cannot be read or validated. */
  config_error: Record<string, unknown> | null;
}

/**
 * Whether the service runs, since when, what runs next and how each job last ended. The service's
 * state needs only PRISM_HOME: with `config` an error (the configuration cannot be loaded, e.g.
 * edited after the service started), or a schedule that does not compile, the jobs are left out
 * and the error is given as `config_error`.
 */
export function serviceStatus(
  home: string,
  clock: Clock,
  config: AppContext | PrismError,
  opts: { jobs?: readonly Job[]; alerts?: AlertSource | null } = {},
): ServiceStatus {
  const now = clock.now();
  const pid = runningServicePid(home) ?? null;
  const state = readServiceState(home);
  const live = pid !== null && state?.pid === pid && state.stopped_at === null ? state : undefined;
  const tasks = readTasks(home);
  const alerts = opts.alerts === undefined ? defaultAlertSource : opts.alerts;
  const schedule = compiled(config, opts.jobs);
  return {
    running: pid !== null,
    pid,
    started_at: live?.started_at ?? null,
    uptime_seconds: live ? Math.max(0, Math.round((now.getTime() - Date.parse(live.started_at)) / 1000)) : null,
    metrics_address: live?.metrics_address ?? null,
    dashboard_address: live?.dashboard_address ?? null,
    dashboard_url: live?.dashboard_url ?? null,
    running_job: live?.running_job ?? null,
    stale_pid_file: pid === null && pidInFile(home) !== undefined,
    jobs: (isPrismError(schedule) ? [] : schedule).map((s) => ({
      job: s.job.name,
      schedule: s.expression,
      ...(s.job.after?.length ? { after: [...s.job.after] } : {}),
      next_run: nextRun(s, now)?.toISOString() ?? null,
      last: tasks.findLast((t) => t.job === s.job.name) ?? null,
    })),
    active_alerts: alerts ? alerts.active(home).length : null,
    alert_deliveries: alerts?.deliveries ? alerts.deliveries(home) : null,
    config_error: isPrismError(schedule) ? schedule.toJSON() : null,
  };
}

function compiled(config: AppContext | PrismError, jobs: readonly Job[] | undefined): ScheduledJob[] | PrismError {
  if (isPrismError(config)) return config;
  try {
    return compileSchedule(config, jobs ?? jobsFor(config));
  } catch (e) {
    if (isPrismError(e) && e.code === 'CONFIG_INVALID') return e;
    throw e;
  }
}
