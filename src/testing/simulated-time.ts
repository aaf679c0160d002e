import { FixedClock } from '../core/clock.js';

interface Sleeper {
  at: number;
  wake: () => void;
}

/**
 * A clock whose time moves on by itself (a simulated week passes in milliseconds), up to an end.
 * Time moves to the earliest wake-up once every strand of work sleeps: the caller (the scheduler
 * and the job it runs) and each strand started with `strand` (the alert evaluation beside a job).
 * Work that reads files or the network without sleeping takes no simulated time; a job that sleeps
 * 30 minutes lets a strand wake every minute meanwhile, in order.
 */
export class SimulatedClock extends FixedClock {
  private readonly stop = new AbortController();
  private readonly sleepers: Sleeper[] = [];
  private strands = 0;
  private settling = false;

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
    if (this.stop.signal.aborted) return super.sleep(ms);
    await new Promise<void>((resolve) => {
      const onAbort = () => {
        this.remove(s);
        resolve();
      };
      const s: Sleeper = {
        at: this.now().getTime() + Math.max(0, ms),
        wake: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.sleepers.push(s);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.settle();
    });
  }
  strand<T>(work: () => Promise<T>): Promise<T> {
    this.strands++;
    return (async () => {
      try {
        return await work();
      } finally {
        this.strands--;
        this.settle();
      }
    })();
  }

  private remove(s: Sleeper): void {
    const i = this.sleepers.indexOf(s);
    if (i >= 0) this.sleepers.splice(i, 1);
  }

  /** On a later turn (what was just woken runs first): when everyone sleeps, wakes the earliest (or all, at the end). */
  private settle(): void {
    if (this.settling) return;
    this.settling = true;
    setImmediate(() => {
      this.settling = false;
      if (this.sleepers.length === 0 || this.sleepers.length < 1 + this.strands) return;
      const at = Math.min(...this.sleepers.map((s) => s.at));
      if (at > this.end.getTime()) {
        this.set(this.end);
        this.stop.abort();
        for (const s of this.sleepers.splice(0)) s.wake();
        return;
      }
      if (at > this.now().getTime()) this.set(new Date(at));
      for (const s of this.sleepers.filter((x) => x.at <= at)) {
        this.remove(s);
        s.wake();
      }
    });
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
