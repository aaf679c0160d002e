import { FixedClock } from '../core/clock.js';
import type { Timer } from '../daemon/timer.js';

export interface SimulatedTime {
  /** The clock jobs and the scheduler read. */
  clock: FixedClock;
  /** Sleeping moves the clock forward at once (a simulated week passes in milliseconds). */
  timer: Timer;
  /** Aborted when a sleep would pass `end`: the scheduler stops there. */
  signal: AbortSignal;
}

/** Simulated time from `start` to `end` for a scheduler. */
export function simulatedTime(start: Date, end: Date): SimulatedTime {
  const clock = new FixedClock(start);
  const stop = new AbortController();
  const timer: Timer = {
    sleep: async (ms, signal) => {
      if (signal.aborted) return;
      if (clock.now().getTime() + ms > end.getTime()) {
        clock.set(end);
        stop.abort();
        return;
      }
      clock.advance(ms);
      await new Promise((r) => setImmediate(r));
    },
  };
  return { clock, timer, signal: stop.signal };
}
