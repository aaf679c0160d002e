import { FixedClock } from '../core/clock.js';

/** A clock whose sleep moves it forward at once (a simulated week passes in milliseconds), up to an end. */
export class SimulatedClock extends FixedClock {
  private readonly stop = new AbortController();
  constructor(
    start: Date,
    private readonly end: Date,
  ) {
    super(start);
  }
  /** Aborted when a sleep would pass `end`: the scheduler stops there. */
  get signal(): AbortSignal {
    return this.stop.signal;
  }
  override async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    // once stopped, sleepers still at work (a job finishing) move the clock on
    if (!this.stop.signal.aborted && this.now().getTime() + ms > this.end.getTime()) {
      this.set(this.end);
      this.stop.abort();
      return;
    }
    await super.sleep(ms);
  }
}

export interface SimulatedTime {
  /** The clock jobs and the scheduler read, and the scheduler sleeps on. */
  clock: SimulatedClock;
  /** Aborted when a sleep would pass `end`: the scheduler stops there. */
  signal: AbortSignal;
}

/** Simulated time from `start` to `end` for a scheduler. */
export function simulatedTime(start: Date, end: Date): SimulatedTime {
  const clock = new SimulatedClock(start, end);
  return { clock, signal: clock.signal };
}
