import { Cron } from 'croner';
import type { AppContext, TaskRecord } from '../app/index.js';
import { PrismError } from '../errors/index.js';
import type { Job } from './job.js';

/** A job with its parsed cron expression (croner; 5 fields, or 6 with seconds; local time); none for a job that only follows others. */
export interface ScheduledJob {
  readonly job: Job;
  readonly expression: string | null;
  readonly cron: Cron | null;
}

/** Parses the schedule of each job that applies to the configuration; a bad expression is refused with its key. */
export function compileSchedule(ctx: AppContext, jobs: readonly Job[]): ScheduledJob[] {
  return jobs
    .filter((job) => job.applies?.(ctx) ?? true)
    .map((job) => {
      const { key, expression } =
        typeof job.schedule === 'string' ? { key: `backup.schedule.${job.schedule}`, expression: ctx.config.backup.schedule[job.schedule] } : job.schedule;
      if (expression === undefined) return { job, expression: null, cron: null };
      try {
        return { job, expression, cron: new Cron(expression, { paused: true }) };
      } catch (e) {
        const why = ((e as Error).message ?? String(e)).replace(/^CronPattern: /, '');
        throw new PrismError(
          'CONFIG_INVALID',
          `${key} = "${expression}": not a cron expression (${why}). Use five fields (minute hour day month weekday), e.g. "0 2 * * 0", or six with seconds first.`,
          { key },
        );
      }
    });
}

/** The first cron time strictly after `after`. */
export function nextRun(s: ScheduledJob, after: Date): Date | null {
  return s.cron?.nextRun(after) ?? null;
}

/** The last cron time strictly before `before`. */
export function previousRun(s: ScheduledJob, before: Date): Date | null {
  return s.cron?.previousRuns(1, before)[0] ?? null;
}

export interface MissedRun {
  job: Job;
  /** The cron time that passed without a run. */
  due: Date;
}

/**
 * Runs missed while the service was down: a job whose latest cron time before `now` came after
 * the service was first started and after the job's last run (an aborted or interrupted run does
 * not count: it did not happen). Each job is caught up once however many times it was missed; oldest first.
 */
export function missedRuns(schedule: readonly ScheduledJob[], tasks: readonly TaskRecord[], firstStarted: Date | undefined, now: Date): MissedRun[] {
  if (!firstStarted) return [];
  const missed: MissedRun[] = [];
  for (const s of schedule) {
    const due = previousRun(s, now);
    if (!due || due.getTime() < firstStarted.getTime()) continue;
    const ran = tasks.some((t) => t.job === s.job.name && t.status !== 'aborted' && t.status !== 'interrupted' && Date.parse(t.started_at) >= due.getTime());
    if (!ran) missed.push({ job: s.job, due });
  }
  return missed.sort((a, b) => a.due.getTime() - b.due.getTime());
}
