import type { TaskRecord, TaskTrigger } from '../app/index.js';
import { beside, type Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { Job } from './job.js';
import type { JobResult } from './job-runner.js';
import { missedRuns, nextRun, type ScheduledJob } from './schedule.js';

export interface QueuedRun {
  job: Job;
  trigger: TaskTrigger;
  details?: Record<string, unknown>;
}

export interface SchedulerOptions {
  schedule: readonly ScheduledJob[];
  /** What the scheduler reads the time from and sleeps on. */
  clock: Clock;
  log: Logger;
  /** Runs one job to its end (and records it). */
  execute: (run: QueuedRun, signal: AbortSignal) => Promise<JobResult>;
  /** The task log so far and when the service first started: what decides catch-up runs. */
  tasks: readonly TaskRecord[];
  firstStarted: Date | undefined;
  /** The longest single wait, so that a clock change or a suspend is noticed (default 60 s). */
  maxSleepMs?: number;
  /**
   * Work done every `everyMs` on a strand of its own, between jobs and while one runs (alert
   * evaluation: "no success for 48 h" must be noticed without a job, an escalation step must not
   * wait for a long backup to end). One run at a time: the next starts `everyMs` after the start
   * of the last, or at once when the last took longer.
   */
  periodic?: PeriodicTask;
}

export interface PeriodicTask {
  everyMs: number;
  run(): Promise<unknown>;
}

/**
 * Runs jobs at their cron times, one at a time. A job that comes due while another runs waits
 * and runs once after it (however many of its times passed); runs missed while the service was
 * down run once at start-up (trigger `catch-up`); a job's follow-ups, and the jobs that run
 * `after` it, run right after it.
 */
export class Scheduler {
  private readonly queue: QueuedRun[] = [];
  private readonly next = new Map<string, Date | null>();
  private current: { run: QueuedRun; started: Date } | null = null;

  constructor(private readonly opts: SchedulerOptions) {}

  /** The next cron time of each job (after the start of `run`, the planned one). */
  nextRuns(): { job: string; at: Date | null }[] {
    const now = this.opts.clock.now();
    return this.opts.schedule.map((s) => ({ job: s.job.name, at: this.next.has(s.job.name) ? this.next.get(s.job.name)! : nextRun(s, now) }));
  }

  running(): { job: string; trigger: TaskTrigger; started: Date } | null {
    return this.current ? { job: this.current.run.job.name, trigger: this.current.run.trigger, started: this.current.started } : null;
  }

  /** Runs until `signal` is aborted; resolves once the job in progress (if any) and the periodic work have ended. */
  async run(signal: AbortSignal): Promise<void> {
    // the periodic loop ends with the jobs' loop, also when that one fails
    const ended = new AbortController();
    const end = () => ended.abort();
    signal.addEventListener('abort', end, { once: true });
    if (signal.aborted) end();
    const periodic = this.opts.periodic ? beside(this.opts.clock, () => this.runPeriodic(this.opts.periodic!, ended.signal)) : undefined;
    try {
      await this.runJobs(signal);
    } finally {
      end();
      signal.removeEventListener('abort', end);
      await periodic;
    }
  }

  /** The periodic work's own loop, beside the jobs; its failures are logged and it goes on. */
  private async runPeriodic(task: PeriodicTask, signal: AbortSignal): Promise<void> {
    const { clock } = this.opts;
    let last = -Infinity;
    while (!signal.aborted) {
      const now = clock.now().getTime();
      // a clock set back (or a suspend) is noticed within maxSleepMs: the interval counts from now then
      if (now - last >= task.everyMs || now < last) {
        last = now;
        await task
          .run()
          .catch((e) => this.opts.log.error({ event: 'periodic.failed', error: (e as Error)?.message ?? String(e) }, 'the periodic alert evaluation failed'));
        continue;
      }
      await clock.sleep(Math.min(last + task.everyMs - now, this.opts.maxSleepMs ?? 60_000), signal);
    }
  }

  private async runJobs(signal: AbortSignal): Promise<void> {
    const { clock, schedule } = this.opts;
    const start = clock.now();
    for (const m of missedRuns(schedule, this.opts.tasks, this.opts.firstStarted, start)) {
      this.opts.log.info(
        { event: 'job.catch_up', job: m.job.name, missed: m.due.toISOString() },
        `${m.job.name} was due at ${m.due.toISOString()} while the service was down: running it now`,
      );
      this.enqueue({ job: m.job, trigger: 'catch-up', details: { missed_run: m.due.toISOString() } });
    }
    // a cron time equal to the start instant is due now (croner's next run is strictly after its argument)
    for (const s of schedule) this.next.set(s.job.name, nextRun(s, new Date(start.getTime() - 1)));
    while (!signal.aborted) {
      this.collectDue(clock.now());
      const item = this.queue.shift();
      if (item) {
        this.current = { run: item, started: clock.now() };
        try {
          const { task, followUps } = await this.opts.execute(item, signal);
          // the jobs that follow this one's every ok run (a copy after each backup), after its own follow-ups
          const after = task.status === 'ok' ? this.opts.schedule.filter((s) => s.job.after?.includes(item.job.name)).map((s) => s.job.name) : [];
          this.addFollowUps(item.job.name, [...followUps, ...after]);
        } catch (e) {
          // the job's own errors are recorded by execute; this is the record itself failing (e.g. a full disk)
          this.opts.log.error(
            { event: 'job.record_failed', job: item.job.name, error: (e as Error)?.message ?? String(e) },
            `${item.job.name}: could not run or record the job`,
          );
        } finally {
          this.current = null;
        }
        continue;
      }
      const wake = Math.min(...[...this.next.values()].map((d) => (d ? d.getTime() : Infinity)));
      const wait = Math.min(Math.max(wake - clock.now().getTime(), 1), this.opts.maxSleepMs ?? 60_000);
      await clock.sleep(wait, signal);
    }
  }

  /** Queues every job whose cron time has come (once each, in the order of those times) and plans its next time. */
  private collectDue(now: Date): void {
    const due = this.opts.schedule
      .filter((s) => {
        const at = this.next.get(s.job.name);
        return at && at.getTime() <= now.getTime();
      })
      .sort((a, b) => this.next.get(a.job.name)!.getTime() - this.next.get(b.job.name)!.getTime());
    for (const s of due) {
      this.enqueue({ job: s.job, trigger: 'scheduled' });
      this.next.set(s.job.name, nextRun(s, now));
    }
  }

  private enqueue(run: QueuedRun): void {
    if (!this.queue.some((q) => q.job.name === run.job.name)) this.queue.push(run);
  }

  private addFollowUps(from: string, names: readonly string[]): void {
    for (const name of [...names].reverse()) {
      const s = this.opts.schedule.find((x) => x.job.name === name);
      if (!s || name === from) {
        this.opts.log.warn({ event: 'job.follow_up_unknown', job: from, follow_up: name }, `${from} asked for an unknown job ${name}`);
        continue;
      }
      // runs next, in place of a run of the same job that was waiting
      const waiting = this.queue.findIndex((q) => q.job.name === name);
      if (waiting >= 0) this.queue.splice(waiting, 1);
      this.queue.unshift({ job: s.job, trigger: 'follow-up', details: { requested_by: from } });
    }
  }
}
