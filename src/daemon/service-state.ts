import { existsSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { TaskTrigger } from '../app/index.js';
import { pidFile, pidInFile, runningServicePid } from '../app/monitoring/service-state.js';
import { PrismError, fromSystemError } from '../errors/index.js';
import { replacePrivateFile, writePrivateFile } from '../core/private-files.js';

/** $PRISM_HOME/prism-service.json: what a running (or the last) service process reports about itself. */
export interface ServiceState {
  pid: number;
  started_at: string;
  /** The first start of a service in this PRISM_HOME: runs due before it were never missed. */
  first_started_at: string;
  /** The bound metrics host:port, null when metrics are off. */
  metrics_address: string | null;
  /** The bound dashboard host:port and its URL (without the token), null when the dashboard is off. */
  dashboard_address?: string | null;
  dashboard_url?: string | null;
  /** The job in progress. */
  running_job: { job: string; trigger: TaskTrigger; started_at: string } | null;
  /** Set when the process stopped cleanly. */
  stopped_at: string | null;
}

export function serviceStateFile(home: string): string {
  return join(home, 'prism-service.json');
}

export function readServiceState(home: string): ServiceState | undefined {
  try {
    return JSON.parse(readFileSync(serviceStateFile(home), 'utf8')) as ServiceState;
  } catch {
    return undefined;
  }
}

/** Written whole under a temporary name, synced and renamed, so a reader never sees half of it, and a job's start survives a crash. */
export function writeServiceState(home: string, state: ServiceState): void {
  replacePrivateFile(serviceStateFile(home), JSON.stringify(state, null, 2) + '\n');
}

function alreadyRunning(pid: number): PrismError {
  return new PrismError('SERVICE_ALREADY_RUNNING', `The prism service is already running (pid ${pid}); one service per PRISM_HOME.`, { pid });
}

/** Removes a pid file whose process is gone; returns the pid it named (0: no pid in it). Refuses while a live service holds it. */
export function removeStalePidFile(home: string): number | undefined {
  const live = runningServicePid(home);
  if (live !== undefined) throw alreadyRunning(live);
  const stale = pidInFile(home);
  if (stale === undefined && !existsSync(pidFile(home))) return undefined;
  try {
    unlinkSync(pidFile(home));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw fromSystemError(e, `removing the stale pid file ${pidFile(home)}`);
  }
  return stale ?? 0;
}

/** Creates the pid file for `pid` (exclusively); a stale one of a dead process is replaced. */
export function claimPidFile(home: string, pid: number = process.pid): void {
  for (let attempt = 0; ; attempt++) {
    try {
      writePrivateFile(pidFile(home), `${pid}\n`, { flag: 'wx' });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fromSystemError(e, `creating the pid file ${pidFile(home)}`);
      if (attempt > 0) throw alreadyRunning(pidInFile(home) ?? 0); // another service started at the same moment
    }
    removeStalePidFile(home);
  }
}

/** Removes the pid file if it still names `pid`. */
export function releasePidFile(home: string, pid: number = process.pid): void {
  if (pidInFile(home) !== pid) return;
  try {
    unlinkSync(pidFile(home));
  } catch {
    // already gone
  }
}
