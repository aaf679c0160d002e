import { readTasks, recordTask, type AppContext, type TaskRecord } from '../app/index.js';
import type { Logger } from '../core/logger.js';
import { ERROR_CODES } from '../errors/index.js';
import type { ServiceState } from './service-state.js';

/**
 * At start-up (the pid file claimed, so the previous service is gone): a job the previous
 * service had started but never recorded died with it (kill -9, a crash, power loss). It goes
 * into the task log as `interrupted`, once.
 */
export function recordInterruptedJob(ctx: AppContext, previous: ServiceState | undefined, log: Logger): TaskRecord | undefined {
  const running = previous?.stopped_at === null ? previous.running_job : null;
  if (!running) return undefined;
  const home = ctx.config.home;
  if (readTasks(home).some((t) => t.job === running.job && t.started_at === running.started_at)) return undefined;
  const task: TaskRecord = {
    job: running.job,
    trigger: running.trigger,
    started_at: running.started_at,
    finished_at: ctx.clock.now().toISOString(),
    status: 'interrupted',
    error_code: ERROR_CODES.INTERRUPTED.id,
    message: `the service (pid ${previous!.pid}) ended while the job ran (killed or crashed); found at the next start`,
  };
  recordTask(home, task);
  log.warn({ event: 'job.interrupted', ...task }, `${task.job} interrupted: ${task.message}`);
  return task;
}
