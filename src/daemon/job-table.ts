import type { AppContext } from '../app/index.js';
import { cleanupJob, fullBackupJob, incrementalBackupJob } from './backup-jobs.js';
import { binlogArchiveJob } from './binlog-jobs.js';
import { copyJobs } from './copy-jobs.js';
import { drillJob, verifyJob } from './check-jobs.js';
import { mysqlBaseBackupJob } from './mysql-jobs.js';
import { pgBaseBackupJob } from './pg-jobs.js';
import type { AfterJobHook, Job } from './job.js';

/** The service's jobs, each timed by its `backup.schedule` key; jobs due at the same moment run in this order. */
export const JOBS: readonly Job[] = [
  fullBackupJob,
  incrementalBackupJob,
  cleanupJob,
  verifyJob,
  drillJob,
  binlogArchiveJob,
  pgBaseBackupJob,
  mysqlBaseBackupJob,
];

/** The jobs of this configuration: the table, then one job per copy of backup.copies (`copy:NAME`). */
export function jobsFor(ctx: AppContext): Job[] {
  return [...JOBS, ...copyJobs(ctx)];
}

/** Run after every job that was not aborted, in order: the alert rules see its result at once. */
export const AFTER_JOB_HOOKS: readonly AfterJobHook[] = [(ctx) => evaluate(ctx)];

/**
 * Runs `work` one call at a time: a call while one runs waits for it and then runs afresh (what
 * the running one read may predate the caller's reason to call); calls waiting together share one run.
 */
export function oneAtATime<T>(work: () => Promise<T>): () => Promise<T> {
  let last: Promise<unknown> = Promise.resolve();
  let waiting: Promise<T> | null = null;
  return () => {
    if (waiting) return waiting;
    const next = last
      .catch(() => undefined)
      .then(() => {
        waiting = null;
        return work();
      });
    waiting = next;
    last = next;
    return next;
  };
}

/** Alert evaluation, loaded when first run (`prism status` reads the job table without it). */
async function evaluate(ctx: AppContext): Promise<unknown> {
  const { evaluateAlerts } = await import('../app/monitoring/alerts.js');
  return evaluateAlerts(ctx);
}

/** Between jobs the alert rules are evaluated this often (time-based rules such as "no success for 48 h"). */
export const ALERT_EVALUATION_MS = 5 * 60_000;

/** With routes that escalate (a step after_minutes > 0), this often, so that a step falls due within a minute of its time. */
export const ESCALATION_EVALUATION_MS = 60_000;

export interface AlertWork {
  /** The scheduler's periodic work: the evaluation every 5 minutes, every minute when a route escalates. */
  periodic: { everyMs: number; run: () => Promise<unknown> };
  /** The evaluation after every job (AFTER_JOB_HOOKS, sharing the periodic one's turn). */
  hooks: readonly AfterJobHook[];
}

/**
 * The service's alert evaluation (rules, escalation steps, retries of pending deliveries): on its
 * own interval beside the jobs, and after each job; never two at once. It reads the manifests,
 * logs and state files and takes no repository lock, so it runs while a backup holds its lock.
 */
export function alertWork(ctx: AppContext): AlertWork {
  const escalates = ctx.config.backup.alerts.routes.some((r) => r.steps.some((s) => s.after_minutes > 0));
  const run = oneAtATime(() => evaluate(ctx));
  return { periodic: { everyMs: escalates ? ESCALATION_EVALUATION_MS : ALERT_EVALUATION_MS, run }, hooks: [() => run()] };
}

export function jobNames(jobs: readonly Job[] = JOBS): string[] {
  return jobs.map((j) => j.name);
}
