import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { logsDir } from '../../config/index.js';
import { appendJsonLine, readJsonLines } from '../json-lines.js';

/** What started a job: its cron time, a run missed while the service was down, a person, or another job. */
export type TaskTrigger = 'scheduled' | 'catch-up' | 'manual' | 'follow-up';
/** `interrupted`: the service died (kill -9, a crash, power loss) while the job ran; recorded at its next start. */
export type TaskStatus = 'ok' | 'failed' | 'aborted' | 'skipped' | 'interrupted';

/** One line of $PRISM_HOME/logs/tasks.log: a job run by the service (or an action of a background check). */
export interface TaskRecord {
  /** e.g. `full_backup`, `incremental_backup`, `cleanup`, `verify`, `drill`, `repair`. */
  job: string;
  trigger: TaskTrigger;
  started_at: string;
  finished_at: string;
  status: TaskStatus;
  /** ERR_… of a failed run. */
  error_code?: string;
  message?: string;
  /** Job-specific facts (backup id, packs read, chunks repaired …). */
  details?: Record<string, unknown>;
}

export function taskLogFile(home: string): string {
  return join(logsDir(home), 'tasks.log');
}

/** Appends a task record; nothing is written while PRISM_HOME does not exist. */
export function recordTask(home: string, task: TaskRecord): void {
  if (!existsSync(home)) return;
  appendJsonLine(taskLogFile(home), task);
}

/** Task records, oldest first; with `since`, only those started at or after it. */
export function readTasks(home: string, since?: Date): TaskRecord[] {
  const all = readJsonLines<TaskRecord>(taskLogFile(home));
  if (!since) return all;
  const t = since.getTime();
  return all.filter((r) => Date.parse(r.started_at) >= t);
}
