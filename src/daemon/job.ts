import type { AppContext, TaskRecord, TaskTrigger } from '../app/index.js';
import type { BackupSection } from '../config/index.js';

/** A key of `backup.schedule`: the cron expression that runs a job. */
export type ScheduleKey = keyof BackupSection['schedule'];

export interface JobRun {
  /** Aborted when the service stops: the job ends cleanly (and is recorded as aborted) or finishes if it cannot stop here. */
  signal: AbortSignal;
  trigger: TaskTrigger;
}

/** What a job reports; the runner turns it into the task record. */
export interface JobOutcome {
  /** Default `ok`. `failed` for a job that ran to its end but found a problem (e.g. a failed drill). */
  status?: 'ok' | 'failed' | 'skipped';
  message?: string;
  /** ERR_… when the outcome is `failed`. */
  error_code?: string;
  details?: Record<string, unknown>;
  /** Jobs to run right after this one (trigger `follow-up`), e.g. a full backup after background verification lost data. */
  followUps?: readonly string[];
}

/** A cron expression set elsewhere than backup.schedule (a copy's `schedule`): its key for messages, and none for a job with no times of its own. */
export interface OwnSchedule {
  readonly key: string;
  readonly expression: string | undefined;
}

/** One entry of the job table: a name, what times it, and what it does. */
export interface Job {
  readonly name: string;
  /** The `backup.schedule` key that times it, or its own schedule. */
  readonly schedule: ScheduleKey | OwnSchedule;
  /** Jobs after each `ok` run of which this one runs too (trigger `follow-up`), e.g. a copy after every backup. */
  readonly after?: readonly string[];
  /** False when the configuration gives the job nothing to do: it is then not scheduled at all (default: always scheduled). */
  applies?(ctx: AppContext): boolean;
  run(ctx: AppContext, run: JobRun): Promise<JobOutcome>;
}

/** Runs after every recorded job (e.g. alert evaluation); a hook that throws is logged and does not stop the service. */
export type AfterJobHook = (ctx: AppContext, task: TaskRecord) => Promise<unknown>;
