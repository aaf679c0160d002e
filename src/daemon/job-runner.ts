import { recordTask, type AppContext, type TaskRecord, type TaskTrigger } from '../app/index.js';
import { pingJobReceivers } from '../app/monitoring/receivers/index.js';
import type { HealthchecksSignal } from '../app/monitoring/receivers/index.js';
import type { Logger } from '../core/logger.js';
import { ERROR_CODES, asPrismError, isPrismError } from '../errors/index.js';
import type { AfterJobHook, Job, JobOutcome } from './job.js';

export interface RunJobOptions {
  trigger: TaskTrigger;
  signal: AbortSignal;
  hooks?: readonly AfterJobHook[];
  /** The service log (job.start, job.done, hook failures). */
  log: Logger;
  /** Extra facts for the record, e.g. which job asked for a follow-up. */
  details?: Record<string, unknown>;
  /** Told each record as it is written (metrics count them). */
  onTask?: (task: TaskRecord) => void;
  /** When the run started (default: now); the service records it before the job runs. */
  started?: Date;
}

export interface JobResult {
  task: TaskRecord;
  followUps: readonly string[];
}

/** Runs one job, records it in logs/tasks.log (job, trigger, start, end, status, error code), then runs the after-job hooks. */
export async function runJob(ctx: AppContext, job: Job, opts: RunJobOptions): Promise<JobResult> {
  const started = opts.started ?? ctx.clock.now();
  opts.log.info({ event: 'job.start', job: job.name, trigger: opts.trigger }, `${job.name} started (${opts.trigger})`);
  await ping(ctx, opts.log, job.name, 'start', `${job.name} started (${opts.trigger})`);
  let outcome: JobOutcome;
  let status: TaskRecord['status'];
  try {
    outcome = await job.run(ctx, { signal: opts.signal, trigger: opts.trigger });
    status = outcome.status ?? 'ok';
  } catch (e) {
    const aborted = opts.signal.aborted && (isPrismError(e) ? e.code === 'INTERRUPTED' : (e as Error)?.name === 'AbortError');
    status = aborted ? 'aborted' : 'failed';
    const pe = asPrismError(e, `running ${job.name}`);
    outcome = {
      error_code: aborted ? ERROR_CODES.INTERRUPTED.id : pe.id,
      message: aborted ? 'stopped with the service; nothing partial is visible' : pe.code === 'INTERNAL' ? ((e as Error)?.message ?? String(e)) : pe.message,
    };
  }
  const details = { ...opts.details, ...outcome.details };
  const task: TaskRecord = {
    job: job.name,
    trigger: opts.trigger,
    started_at: started.toISOString(),
    finished_at: ctx.clock.now().toISOString(),
    status,
    ...(outcome.error_code ? { error_code: outcome.error_code } : {}),
    ...(outcome.message ? { message: outcome.message } : {}),
    ...(Object.keys(details).length > 0 ? { details } : {}),
  };
  recordTask(ctx.config.home, task);
  opts.onTask?.(task);
  const level = status === 'failed' ? 'error' : status === 'aborted' ? 'warn' : 'info';
  opts.log[level]({ event: 'job.done', ...task }, `${job.name} ${status}${task.message ? `: ${task.message}` : ''}`);
  // a job stopped with the service is neither a success nor a failure: the check waits for the next
  if (status !== 'aborted')
    await ping(ctx, opts.log, job.name, status === 'failed' ? 'fail' : 'success', `${job.name} ${status}${task.message ? `: ${task.message}` : ''}`);
  // no hooks while the service shuts down
  if (status !== 'aborted') {
    for (const hook of opts.hooks ?? []) {
      try {
        await hook(ctx, task);
      } catch (e) {
        opts.log.error({ event: 'hook.failed', job: job.name, error: (e as Error)?.message ?? String(e) }, 'an after-job hook failed');
      }
    }
  }
  return { task, followUps: status === 'aborted' ? [] : (outcome.followUps ?? []) };
}

/** Healthchecks pings (backup.alerts.receivers of kind healthchecks): logged when they fail, never failing the job. */
async function ping(ctx: AppContext, log: Logger, job: string, signal: HealthchecksSignal, body: string): Promise<void> {
  try {
    for (const { receiver, outcome } of await pingJobReceivers(ctx.config.backup.alerts, job, signal, body, { home: ctx.config.home, clock: ctx.clock })) {
      if (!outcome.ok)
        log.warn({ event: 'healthchecks.ping_failed', job, signal, receiver, error: outcome.error }, `healthchecks ping (${signal}) failed: ${outcome.error}`);
    }
  } catch (e) {
    log.warn({ event: 'healthchecks.ping_failed', job, signal, error: (e as Error)?.message ?? String(e) }, 'healthchecks ping failed');
  }
}
