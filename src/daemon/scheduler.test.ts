import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { listBackups, readTasks, type AppContext, type TaskRecord } from '../app/index.js';
import { silentLogger } from '../core/logger.js';
import { PrismError } from '../errors/index.js';
import { appContext, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';
import { simulatedTime } from '../testing/simulated-time.js';
import type { AfterJobHook, Job } from './job.js';
import { runJob } from './job-runner.js';
import { JOBS } from './job-table.js';
import { compileSchedule, missedRuns } from './schedule.js';
import { Scheduler } from './scheduler.js';

const HOUR = 3_600_000;
/** Local time, as cron expressions are read. */
const at = (y: number, mo: number, d: number, h = 0, mi = 0) => new Date(y, mo - 1, d, h, mi);
const local = (iso: string) => {
  const d = new Date(iso);
  return `${['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d.getDay()]} ${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

const boxes: Sandbox[] = [];
after(() => boxes.forEach((b) => b.cleanup()));

function home(schedule: Record<string, string>): Sandbox {
  const sb = sandbox();
  boxes.push(sb);
  writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { schedule, service: { metrics_address: '' } } }));
  return sb;
}

/** Runs a scheduler over simulated time with the real job runner (task log, hooks). */
async function simulate(
  ctx: AppContext,
  jobs: readonly Job[],
  time: ReturnType<typeof simulatedTime>,
  opts: { hooks?: AfterJobHook[]; tasks?: TaskRecord[]; firstStarted?: Date } = {},
): Promise<Scheduler> {
  const scheduler = new Scheduler({
    schedule: compileSchedule(ctx, jobs),
    clock: time.clock,
    log: silentLogger,
    tasks: opts.tasks ?? [],
    firstStarted: opts.firstStarted,
    execute: (run, signal) =>
      runJob(ctx, run.job, { trigger: run.trigger, signal, log: silentLogger, hooks: opts.hooks ?? [], ...(run.details ? { details: run.details } : {}) }),
  });
  await scheduler.run(time.signal);
  return scheduler;
}

describe('scheduler over simulated time', () => {
  it('runs the SOP schedule for a week with the real jobs, in cron order; the first incremental, with no full backup yet, is promoted', async () => {
    const sb = home({});
    writeDataset(sb.home, { files: 12 });
    // Friday 02:30 to the next Friday 03:30
    const time = simulatedTime(at(2026, 1, 30, 2, 30), at(2026, 2, 6, 3, 30));
    const ctx = appContext(sb, {}, time.clock);
    await simulate(ctx, JOBS, time);
    const tasks = readTasks(sb.home);
    assert.deepEqual(
      tasks.map((t) => `${local(t.started_at)} ${t.job} ${t.trigger} ${t.status}`),
      [
        'Fri 03:00 incremental_backup scheduled ok',
        'Fri 04:30 verify scheduled ok',
        'Sat 04:30 verify scheduled ok',
        'Sun 02:00 full_backup scheduled ok',
        'Sun 04:00 cleanup scheduled ok',
        'Sun 04:30 verify scheduled ok',
        'Sun 05:00 drill scheduled ok',
        'Mon 03:00 incremental_backup scheduled ok',
        'Mon 04:30 verify scheduled ok',
        'Tue 03:00 incremental_backup scheduled ok',
        'Tue 04:30 verify scheduled ok',
        'Wed 03:00 incremental_backup scheduled ok',
        'Wed 04:30 verify scheduled ok',
        'Thu 03:00 incremental_backup scheduled ok',
        'Thu 04:30 verify scheduled ok',
        'Fri 03:00 incremental_backup scheduled ok',
      ],
    );
    const promoted = tasks[0]!;
    assert.equal(promoted.details?.promoted_to_full, true);
    assert.match(promoted.message!, /no completed full backup yet: promoted to a full backup/);
    assert.equal(tasks[7]!.details?.promoted_to_full, undefined);
    // the nightly verification reads its share of the packs (one record per run: the service's own);
    // the drill of the 1st restored the latest backup within its target
    const verifies = tasks.filter((t) => t.job === 'verify');
    assert.equal(verifies.length, 7);
    assert.ok(
      verifies.every((t) => Number(t.details?.packs_read) >= 1 && t.details?.needs_full_backup === false),
      JSON.stringify(verifies[0]),
    );
    const drill = tasks.find((t) => t.job === 'drill')!;
    assert.equal(drill.details?.backup_id, 'backup_20260201_020000_full');
    assert.equal(drill.details?.within_target, true);
    const backups = (await listBackups(ctx)).reverse();
    assert.deepEqual(
      backups.map((m) => `${m.id} ${m.type} ${m.trigger} ${m.status}`),
      [
        'backup_20260130_030000_full full scheduled completed',
        'backup_20260201_020000_full full scheduled completed',
        ...['02', '03', '04', '05', '06'].map((d) => `backup_202602${d}_030000_incremental incremental scheduled completed`),
      ],
    );
    assert.match(backups[0]!.comment!, /promoted to full/);
    assert.equal(backups[2]!.parent, 'backup_20260201_020000_full');
    assert.equal(promoted.details?.backup_id, backups[0]!.id);
  });

  it('never overlaps runs: a job due while another runs waits and runs once after it', async () => {
    const sb = home({ full_backup: '0 2 * * *', incremental_backup: '*/10 * * * *' });
    const time = simulatedTime(at(2026, 2, 2, 1, 55), at(2026, 2, 2, 5, 25));
    const ctx = appContext(sb, {}, time.clock);
    let running = 0;
    const spans: { job: string; from: number; to: number }[] = [];
    const job = (name: 'full_backup' | 'incremental_backup', takesMs: number): Job => ({
      name,
      schedule: name,
      run: async () => {
        assert.equal(running, 0, `${name} started while another job ran`);
        running++;
        const from = time.clock.now().getTime();
        time.clock.advance(takesMs); // the job takes this long in simulated time
        await new Promise((r) => setImmediate(r));
        spans.push({ job: name, from, to: time.clock.now().getTime() });
        running--;
        return {};
      },
    });
    await simulate(ctx, [job('full_backup', 3 * HOUR), job('incremental_backup', 60_000)], time);
    const hm = (t: number) => local(new Date(t).toISOString()).slice(4);
    // both are due at 02:00 (table order decides); 02:00–05:00 the full backup runs while 18 ten-minute
    // times of the incremental pass: it runs once, at 05:00, then keeps its schedule
    assert.deepEqual(
      spans.map((s) => `${s.job} ${hm(s.from)}-${hm(s.to)}`),
      ['full_backup 02:00-05:00', 'incremental_backup 05:00-05:01', 'incremental_backup 05:10-05:11', 'incremental_backup 05:20-05:21'],
    );
    for (let i = 1; i < spans.length; i++) assert.ok(spans[i]!.from >= spans[i - 1]!.to, 'runs overlap');
    assert.deepEqual(
      readTasks(sb.home).map((t) => `${t.job} ${t.trigger}`),
      ['full_backup scheduled', ...Array(3).fill('incremental_backup scheduled')],
    );
  });

  it('does its periodic work (alert evaluation) on its own interval, between jobs and while a job runs, one run at a time', async () => {
    const sb = home({ full_backup: '0 2 * * *' });
    const time = simulatedTime(at(2026, 2, 2, 1, 0), at(2026, 2, 2, 3, 0));
    const ctx = appContext(sb, {}, time.clock);
    let running = false;
    let evaluating = 0;
    const periodicAt: string[] = [];
    const scheduler = new Scheduler({
      schedule: compileSchedule(ctx, [
        {
          name: 'full_backup',
          schedule: 'full_backup',
          run: async (_ctx, { signal }) => {
            running = true;
            await time.clock.sleep(45 * 60_000, signal); // 02:00–02:45
            running = false;
            return {};
          },
        },
      ]),
      clock: time.clock,
      log: silentLogger,
      tasks: [],
      firstStarted: undefined,
      periodic: {
        everyMs: 20 * 60_000,
        run: async () => {
          assert.equal(evaluating, 0, 'two periodic runs at once');
          evaluating++;
          const t = local(time.clock.now().toISOString()).slice(4);
          periodicAt.push(running ? `${t} during the job` : t);
          // the 01:40 run takes 30 minutes: the next starts when it ends, not beside it
          if (t === '01:40') await time.clock.sleep(30 * 60_000);
          evaluating--;
        },
      },
      execute: (run, signal) => runJob(ctx, run.job, { trigger: run.trigger, signal, log: silentLogger, hooks: [] }),
    });
    await scheduler.run(time.signal);
    assert.deepEqual(periodicAt, ['01:00', '01:20', '01:40', '02:10 during the job', '02:30 during the job', '02:50']);
    assert.deepEqual(
      readTasks(sb.home).map((t) => `${local(t.started_at).slice(4)}-${local(t.finished_at).slice(4)} ${t.job}`),
      ['02:00-02:45 full_backup'],
    );
  });

  it('runs a job whose cron time is the very moment the scheduler starts', async () => {
    const sb = home({ full_backup: '0 2 * * *' });
    const time = simulatedTime(at(2026, 2, 2, 2, 0), at(2026, 2, 2, 3, 0));
    const ctx = appContext(sb, {}, time.clock);
    await simulate(ctx, [{ name: 'full_backup', schedule: 'full_backup', run: async () => ({}) }], time);
    assert.deepEqual(
      readTasks(sb.home).map((t) => [t.trigger, t.started_at]),
      [['scheduled', at(2026, 2, 2, 2, 0).toISOString()]],
    );
  });

  it('runs a follow-up a job asks for next, then the after-job hooks; a failure is recorded with its code', async () => {
    const sb = home({ verify: '0 4 * * *', drill: '0 4 * * *', cleanup: '30 4 * * *' });
    const time = simulatedTime(at(2026, 2, 2, 3, 0), at(2026, 2, 2, 6, 0));
    const ctx = appContext(sb, {}, time.clock);
    const ran: string[] = [];
    const jobs: Job[] = [
      {
        name: 'verify',
        schedule: 'verify',
        run: async () => (ran.push('verify'), { message: 'data lost', details: { needsFullBackup: true }, followUps: ['full_backup', 'no_such_job'] }),
      },
      { name: 'drill', schedule: 'drill', run: async () => (ran.push('drill'), { status: 'failed', error_code: 'ERR_BACKUP_005', message: 'drill failed' }) },
      { name: 'full_backup', schedule: 'full_backup', run: async (_ctx, { trigger }) => (ran.push(`full_backup/${trigger}`), {}) },
      {
        name: 'cleanup',
        schedule: 'cleanup',
        run: async () => {
          ran.push('cleanup');
          throw new PrismError('REPO_LOCKED', 'locked by pid 1');
        },
      },
    ];
    const seen: string[] = [];
    const hooks: AfterJobHook[] = [
      async (_ctx, t) => seen.push(`${t.job}:${t.status}`),
      async () => {
        throw new Error('a broken hook does not stop the service');
      },
    ];
    await simulate(ctx, jobs, time, { hooks });
    // verify and drill share 04:00 (table order); the full backup verify asked for runs before the drill
    assert.deepEqual(ran, ['verify', 'full_backup/follow-up', 'drill', 'cleanup']);
    assert.deepEqual(seen, ['verify:ok', 'full_backup:ok', 'drill:failed', 'cleanup:failed']);
    const tasks = readTasks(sb.home);
    assert.deepEqual(tasks[1]!.details, { requested_by: 'verify' });
    assert.equal(tasks[1]!.trigger, 'follow-up');
    assert.equal(tasks[2]!.error_code, 'ERR_BACKUP_005');
    assert.deepEqual([tasks[3]!.status, tasks[3]!.error_code, tasks[3]!.message], ['failed', 'ERR_PRISM_LOCKED', 'locked by pid 1']);
  });

  it('aborts the running job when the service stops: recorded as aborted, no hooks, no follow-ups, and the scheduler returns', async () => {
    const sb = home({ full_backup: '0 2 * * *' });
    const time = simulatedTime(at(2026, 2, 2, 1, 0), at(2026, 2, 9, 0, 0));
    const ctx = appContext(sb, {}, time.clock);
    const stop = new AbortController();
    const hooked: string[] = [];
    const job: Job = {
      name: 'full_backup',
      schedule: 'full_backup',
      run: (_ctx, { signal }) =>
        new Promise((_, reject) => {
          signal.addEventListener('abort', () => reject(new PrismError('INTERRUPTED', 'Backup interrupted')));
          setImmediate(() => stop.abort());
        }),
    };
    const scheduler = new Scheduler({
      schedule: compileSchedule(ctx, [job]),
      clock: time.clock,
      log: silentLogger,
      tasks: [],
      firstStarted: undefined,
      execute: (run, signal) => runJob(ctx, run.job, { trigger: run.trigger, signal, log: silentLogger, hooks: [async (_c, t) => hooked.push(t.job)] }),
    });
    await scheduler.run(stop.signal);
    const tasks = readTasks(sb.home);
    assert.equal(tasks.length, 1);
    assert.deepEqual([tasks[0]!.status, tasks[0]!.error_code], ['aborted', 'ERR_PRISM_INTERRUPTED']);
    assert.deepEqual(hooked, []);
    assert.equal(scheduler.running(), null);
  });
});

describe('catch-up rules', () => {
  const sb = home({});
  const ctx = appContext(sb);
  const schedule = compileSchedule(ctx, JOBS);
  const now = at(2026, 2, 4, 12, 0); // Wednesday noon
  const task = (job: string, started: Date, status: TaskRecord['status'] = 'ok'): TaskRecord => ({
    job,
    trigger: 'scheduled',
    started_at: started.toISOString(),
    finished_at: started.toISOString(),
    status,
  });

  it('catches up each job whose last cron time passed without a run since the service first started, once, oldest first', () => {
    const tasks = [task('full_backup', at(2026, 1, 25, 2)), task('incremental_backup', at(2026, 2, 2, 3)), task('cleanup', at(2026, 2, 1, 4))];
    const missed = missedRuns(schedule, tasks, at(2026, 1, 1), now);
    // full: Sun 1 Feb 02:00 passed (last run 25 Jan); incremental: Wed 4 Feb 03:00 passed (last run Monday); cleanup ran on 1 Feb;
    // verify and drill never ran: their last cron times since the first start (4 Feb 04:30, 1 Feb 05:00)
    assert.deepEqual(
      missed.map((m) => `${m.job.name} ${m.due.toISOString()}`),
      [
        `full_backup ${at(2026, 2, 1, 2).toISOString()}`,
        `drill ${at(2026, 2, 1, 5).toISOString()}`,
        `incremental_backup ${at(2026, 2, 4, 3).toISOString()}`,
        `verify ${at(2026, 2, 4, 4, 30).toISOString()}`,
      ],
    );
  });

  it('an aborted or interrupted run does not count as a run; nothing is missed before the first start', () => {
    const tasks = [
      task('full_backup', at(2026, 2, 1, 2), 'aborted'),
      task('incremental_backup', at(2026, 2, 4, 3), 'failed'),
      task('cleanup', at(2026, 2, 1, 4)),
      task('verify', at(2026, 2, 4, 4, 30), 'interrupted'),
      task('drill', at(2026, 2, 1, 5)),
    ];
    assert.deepEqual(
      missedRuns(schedule, tasks, at(2026, 1, 1), now).map((m) => m.job.name),
      ['full_backup', 'verify'],
    );
    assert.deepEqual(missedRuns(schedule, [], undefined, now), []);
    assert.deepEqual(missedRuns(schedule, [], at(2026, 2, 4, 11), now), []);
  });

  it('refuses a schedule that is not a cron expression, naming the key', () => {
    const bad = home({ cleanup: '0 4 * * 8' });
    assert.throws(
      () => compileSchedule(appContext(bad), JOBS),
      (e: PrismError) => e.code === 'CONFIG_INVALID' && /backup\.schedule\.cleanup = "0 4 \* \* 8"/.test(e.message),
    );
  });
});
