import { setTimeout as sleep } from 'node:timers/promises';
import { processAlive, runningServicePid } from '../app/monitoring/service-state.js';
import { PrismError, fromSystemError } from '../errors/index.js';
import { readServiceState, removeStalePidFile } from './service-state.js';

export interface StopResult {
  /** Whether a service was running (and has now stopped). */
  stopped: boolean;
  pid: number | null;
  /** The pid a stale pid file named (removed), if there was one. */
  stale_pid: number | null;
  waited_ms: number;
}

/** Sends SIGTERM to the service and waits up to `timeoutMs` for it to exit (its running job is aborted and recorded). */
export async function stopService(home: string, opts: { timeoutMs: number }): Promise<StopResult> {
  const pid = runningServicePid(home);
  if (pid === undefined) {
    const stale = removeStalePidFile(home);
    return { stopped: false, pid: null, stale_pid: stale ?? null, waited_ms: 0 };
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw fromSystemError(e, `signalling the prism service (pid ${pid})`);
  }
  const started = performance.now();
  while (processAlive(pid)) {
    const waited = performance.now() - started;
    if (waited >= opts.timeoutMs) {
      const job = readServiceState(home)?.running_job;
      throw new PrismError(
        'SERVICE_STOP_TIMEOUT',
        `The prism service (pid ${pid}) is still running ${Math.round(waited / 1000)} s after SIGTERM${job ? `: ${job.job} (started ${job.started_at}) is finishing` : ''}.`,
        { pid, ...(job ? { running_job: job } : {}) },
      );
    }
    await sleep(Math.min(100, opts.timeoutMs - waited));
  }
  return { stopped: true, pid, stale_pid: null, waited_ms: Math.round(performance.now() - started) };
}
