import { setTimeout as sleep } from 'node:timers/promises';

/** How the scheduler waits: real time in the service, simulated time in tests. */
export interface Timer {
  /** Resolves after `ms`, or at once when `signal` is aborted (it never rejects). */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

export const realTimer: Timer = {
  sleep: (ms, signal) => sleep(ms, undefined, { signal }).catch(() => undefined),
};
