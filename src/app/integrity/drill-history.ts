import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { logsDir } from '../../config/index.js';
import type { TaskTrigger } from '../monitoring/task-log.js';
import { appendJsonLine, readJsonLines } from '../json-lines.js';

/** One restore drill (SOP 7.4): one line of $PRISM_HOME/logs/drills.log. */
export interface DrillRecord {
  time: string;
  backup_id: string | null;
  /** The copy drilled (`prism drill --repo NAME`): its name in backup.copies or its location; absent for the primary. */
  repository?: string;
  trigger: TaskTrigger;
  status: 'passed' | 'failed';
  /** Seconds from the start of the restore to a verified, healthy copy (the RTO measured). */
  rto_seconds: number;
  target_seconds: number;
  within_target: boolean;
  files_checked: number;
  error?: { code: string; message: string };
  /** A failed drill: the first paths that were not restored, differ from the backup, or fail the health check. */
  problems?: Array<{ path: string; message: string }>;
  /** Findings of the health check the backup already held (a file that did not parse when it was backed up): named, but the drill passes. */
  warnings?: Array<{ path: string; message: string }>;
}

export function drillLogFile(home: string): string {
  return join(logsDir(home), 'drills.log');
}

export function recordDrill(home: string, drill: DrillRecord): void {
  if (!existsSync(home)) return;
  appendJsonLine(drillLogFile(home), drill);
}

/** Past drills, oldest first. */
export function readDrills(home: string): DrillRecord[] {
  return readJsonLines<DrillRecord>(drillLogFile(home));
}
