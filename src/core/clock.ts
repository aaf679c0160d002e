import { setTimeout as delay } from 'node:timers/promises';

/**
 * The only way code below cli/daemon reads the time or waits, so that policy, ids, locks and
 * waits are testable (a lint rule, scripts/check-clock.mjs, keeps it so).
 */
export interface Clock {
  now(): Date;
  /** Resolves after `ms`, or at once when `signal` is aborted (it never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /**
   * Runs `work` as a strand of its own beside the caller's (the service's alert evaluation beside
   * a running job). Only a simulated clock needs it: its time moves on only when the caller and
   * every strand sleep. Absent: `work` just runs.
   */
  strand?<T>(work: () => Promise<T>): Promise<T>;
}

/** Runs `work` beside the caller's own work, as a strand of `clock` when it keeps them (see Clock.strand). */
export function beside<T>(clock: Clock, work: () => Promise<T>): Promise<T> {
  return clock.strand ? clock.strand(work) : work();
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) => delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined),
};

/** A clock that stays where it is put; for tests. Sleeping moves it forward at once (and lets other work run). */
export class FixedClock implements Clock {
  constructor(private current: Date) {}
  now(): Date {
    return new Date(this.current.getTime());
  }
  set(d: Date): void {
    this.current = d;
  }
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    this.advance(ms);
    await new Promise((r) => setImmediate(r));
  }
}
