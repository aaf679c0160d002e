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

/** Alert evaluation, loaded when first run (`prism status` reads the job table without it). */
async function evaluate(ctx: AppContext): Promise<unknown> {
  const { evaluateAlerts } = await import('../app/monitoring/alerts.js');
  return evaluateAlerts(ctx);
}

/** Between jobs the alert rules are evaluated this often (time-based rules such as "no success for 48 h"). */
export const ALERT_EVALUATION_MS = 5 * 60_000;

/** With routes that escalate (a step after_minutes > 0), this often, so that a step falls due within a minute of its time. */
export const ESCALATION_EVALUATION_MS = 60_000;

/** What the service does between jobs: evaluating the alerts, every minute when a route escalates. */
export function idleWork(ctx: AppContext): { everyMs: number; run: () => Promise<unknown> } {
  const escalates = ctx.config.backup.alerts.routes.some((r) => r.steps.some((s) => s.after_minutes > 0));
  return { everyMs: escalates ? ESCALATION_EVALUATION_MS : ALERT_EVALUATION_MS, run: () => evaluate(ctx) };
}

export function jobNames(jobs: readonly Job[] = JOBS): string[] {
  return jobs.map((j) => j.name);
}
