import { recordTask, type AppContext, type TaskRecord, type TaskTrigger } from '../app/index.js';
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
