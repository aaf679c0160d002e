import { cleanupJob, fullBackupJob, incrementalBackupJob } from './backup-jobs.js';
import type { AfterJobHook, Job } from './job.js';

/**
 * The service's jobs, each timed by its `backup.schedule` key. A new job is one entry here, e.g.
 *   { name: 'verify', schedule: 'verify', run: async (ctx, { signal }) => { const r = await backgroundVerify(ctx, { signal });
 *       return { details: { ...r }, followUps: r.needsFullBackup ? ['full_backup'] : [] }; } }
 */
export const JOBS: readonly Job[] = [fullBackupJob, incrementalBackupJob, cleanupJob];

/** Run after every job, in order, e.g. `async (ctx) => evaluateAlerts(ctx)`. */
export const AFTER_JOB_HOOKS: readonly AfterJobHook[] = [];

export function jobNames(jobs: readonly Job[] = JOBS): string[] {
  return jobs.map((j) => j.name);
}
