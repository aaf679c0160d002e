import { readTasks, type TaskRecord } from '../app/monitoring/task-log.js';
import { PrismError } from '../errors/index.js';

/** What `prism tasks --json` prints (and `GET /api/tasks` returns). */
export interface TasksReport {
  days: number;
  /** Newest first. */
  tasks: TaskRecord[];
}

/**
 * The task log of the last `days` days before `now`, newest first; `job` keeps one job (`copy`: every
 * copy job). An unknown job is INVALID_ARGUMENT naming the jobs.
 */
export async function tasksReport(home: string, now: Date, opts: { days: number; job?: string | undefined }): Promise<TasksReport> {
  const { days, job } = opts;
  const since = now.getTime() - days * 86_400_000;
  const all = readTasks(home);
  if (job !== undefined) {
    // the job table loads every job's code: only to check a job's name
    const { jobNames } = await import('./job-table.js');
    const known = new Set([...jobNames(), 'copy', ...all.map((t) => t.job)]);
    if (!known.has(job) && !job.startsWith('copy:')) throw new PrismError('INVALID_ARGUMENT', `--job "${job}" is not a job; jobs: ${[...known].join(', ')}.`);
  }
  const tasks = all
    .filter((t) => Date.parse(t.started_at) >= since && (job === undefined || t.job === job || (job === 'copy' && t.job.startsWith('copy:'))))
    .reverse();
  return { days, tasks };
}
