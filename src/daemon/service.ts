import { existsSync } from 'node:fs';
import { readTasks, type AppContext } from '../app/index.js';
import type { Logger } from '../core/logger.js';
import { PrismError } from '../errors/index.js';
import { alertSource as defaultAlertSource, type AlertSource } from './alert-source.js';
import type { AfterJobHook, Job } from './job.js';
import { runJob } from './job-runner.js';
import { alertWork, jobsFor } from './job-table.js';
import { parseAddress, startMetricsServer, type MetricsServer } from './metrics-server.js';
import { compileSchedule } from './schedule.js';
import { Scheduler, type PeriodicTask } from './scheduler.js';
import { recordInterruptedJob } from './interrupted-job.js';
import { claimPidFile, readServiceState, releasePidFile, writeServiceState, type ServiceState } from './service-state.js';

export interface ServiceOptions {
  ctx: AppContext;
  /** The service log (logs/service.log). */
  log: Logger;
  /** Aborting it stops the service: the running job is aborted (or finishes where it cannot stop). */
  signal: AbortSignal;
  jobs?: readonly Job[];
  hooks?: readonly AfterJobHook[];
  alerts?: AlertSource | null;
  /** Periodic work beside the jobs (default: alert evaluation every 5 minutes, every minute when a route escalates); null for none. */
  periodic?: PeriodicTask | null;
  /**
   * Starts the dashboard (web/ provides it: the daemon does not import web) once the metrics are
   * up; null when backup.dashboard.listen is "". Closed when the service stops.
   */
  dashboard?: DashboardStarter;
  /** Told once the pid file, the metrics endpoint and the state file are in place. */
  onReady?: (state: ServiceState) => void;
}

export type DashboardStarter = (ctx: AppContext, log: Logger) => Promise<{ address: string; url: string; close(): Promise<void> } | null>;

/** Checks what the service needs from the configuration (every schedule, the metrics address) before anything starts. */
export function checkServiceConfig(ctx: AppContext, jobs: readonly Job[] = jobsFor(ctx)): void {
  if (!existsSync(ctx.config.home)) {
    throw new PrismError('SOURCE_NOT_FOUND', `PRISM_HOME ${ctx.config.home} does not exist; run \`prism init\` first.`, { path: ctx.config.home });
  }
  compileSchedule(ctx, jobs);
  const address = ctx.config.backup.service.metrics_address;
  if (address !== '') parseAddress(address);
  const listen = ctx.config.backup.dashboard.listen;
  if (listen !== '') parseAddress(listen, 'backup.dashboard.listen', { port: 9470, off: 'no dashboard' });
}

/** The service process: pid file, metrics endpoint, dashboard, then the schedule until `signal` is aborted. */
export async function runService(opts: ServiceOptions): Promise<void> {
  const { ctx, log } = opts;
  const home = ctx.config.home;
  const jobs = opts.jobs ?? jobsFor(ctx);
  checkServiceConfig(ctx, jobs);
  claimPidFile(home);
  let server: MetricsServer | null = null;
  let dashboard: Awaited<ReturnType<DashboardStarter>> = null;
  let state: ServiceState | undefined;
  try {
    const previous = readServiceState(home);
    const now = ctx.clock.now().toISOString();
    recordInterruptedJob(ctx, previous, log);
    const alerts = alertWork(ctx);
    const scheduler: Scheduler = new Scheduler({
      schedule: compileSchedule(ctx, jobs),
      clock: ctx.clock,
      log,
      tasks: readTasks(home),
      firstStarted: previous ? new Date(previous.first_started_at) : undefined,
      ...(opts.periodic === null ? {} : { periodic: opts.periodic ?? alerts.periodic }),
      execute: async (run, signal) => {
        const update = (running_job: ServiceState['running_job']) => state && writeServiceState(home, (state = { ...state, running_job }));
        // on disk before the job runs: a service killed during it finds it at its next start
        const started = ctx.clock.now();
        update({ job: run.job.name, trigger: run.trigger, started_at: started.toISOString() });
        try {
          return await runJob(ctx, run.job, {
            trigger: run.trigger,
            signal,
            log,
            started,
            hooks: opts.hooks ?? alerts.hooks,
            onTask: (t) => metrics.countTask(t),
            ...(run.details ? { details: run.details } : {}),
          });
        } finally {
          update(null);
        }
      },
    });
    // prom-client takes ~100 ms to load: only the service itself needs it
    const { ServiceMetrics } = await import('./metrics.js');
    const metrics = new ServiceMetrics({ ctx, alerts: opts.alerts === undefined ? defaultAlertSource : opts.alerts, nextRuns: () => scheduler.nextRuns() });
    const address = ctx.config.backup.service.metrics_address;
    if (address !== '') server = await startMetricsServer(address, metrics, log);
    if (opts.dashboard) dashboard = await opts.dashboard(ctx, log);
    state = {
      pid: process.pid,
      started_at: now,
      first_started_at: previous?.first_started_at ?? now,
      metrics_address: server?.address ?? null,
      dashboard_address: dashboard?.address ?? null,
      dashboard_url: dashboard?.url ?? null,
      running_job: null,
      stopped_at: null,
    };
    writeServiceState(home, state);
    log.info(
      { event: 'service.start', metrics: state.metrics_address, dashboard: state.dashboard_address, next: scheduler.nextRuns() },
      `service started (pid ${process.pid})`,
    );
    opts.onReady?.(state);
    await scheduler.run(opts.signal);
  } finally {
    await dashboard?.close();
    await server?.close();
    if (state) writeServiceState(home, { ...state, running_job: null, stopped_at: ctx.clock.now().toISOString() });
    releasePidFile(home);
    log.info({ event: 'service.stop' }, 'service stopped');
  }
}
