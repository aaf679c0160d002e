import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createBackup, listBackups, readTasks, type AppContext } from '../app/index.js';
import { copyContext } from '../app/copies/copy-context.js';
import { readCopyState } from '../app/copies/copy-state.js';
import { FixedClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { appContext, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';
import { simulatedTime } from '../testing/simulated-time.js';
import { copyJobs } from './copy-jobs.js';
import { runJob } from './job-runner.js';
import { runService } from './service.js';
import { serviceStatus } from './service-status.js';

/** Local time, as cron expressions are read. */
const at = (y: number, mo: number, d: number, h = 0, mi = 0) => new Date(y, mo - 1, d, h, mi);
const DAY = 86_400_000;

const boxes: Sandbox[] = [];
after(() => boxes.forEach((b) => b.cleanup()));

function home(backup: Record<string, unknown>): Sandbox {
  const sb = sandbox();
  boxes.push(sb);
  writeDataset(sb.home, { files: 8 });
  writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { service: { metrics_address: '' }, ...backup } }));
  return sb;
}

/** The backups a copy holds, oldest first. */
async function held(ctx: AppContext, name: string): Promise<string[]> {
  const target = ctx.config.copies.find((c) => c.name === name)!;
  return (await listBackups(copyContext(ctx, target))).map((m) => m.id).reverse();
}

describe('copy jobs in the service', () => {
  it('an after_backup copy runs after each backup that ends ok, not after a failed one; a scheduled copy keeps its cron', async () => {
    const sb = home({
      schedule: { full_backup: '0 2 * * *', incremental_backup: '0 3 * * *' },
      copies: [
        { name: 'second-disk', repository: 'second-disk', after_backup: true },
        { name: 'nightly', repository: join(sb0(), 'nightly'), schedule: '15 2 * * *' },
      ],
    });
    // Monday 01:30 to 02:30: the full backup at 02:00, its copy right after, the nightly copy at 02:15
    let time = simulatedTime(at(2026, 2, 2, 1, 30), at(2026, 2, 2, 2, 30));
    const ctx = appContext(sb, {}, time.clock);
    await runService({ ctx, log: silentLogger, signal: time.signal });
    const [full] = await listBackups(ctx);
    let tasks = readTasks(sb.home);
    assert.deepEqual(
      tasks.map((t) => [t.job, t.trigger, t.status, t.started_at]),
      [
        ['full_backup', 'scheduled', 'ok', at(2026, 2, 2, 2).toISOString()],
        ['copy:second-disk', 'follow-up', 'ok', at(2026, 2, 2, 2).toISOString()],
        ['copy:nightly', 'scheduled', 'ok', at(2026, 2, 2, 2, 15).toISOString()],
      ],
    );
    const copied = tasks[1]!;
    assert.equal(copied.details?.requested_by, 'full_backup');
    assert.equal(copied.details?.copy, 'second-disk');
    assert.equal(copied.details?.copied, 1);
    assert.ok(Number(copied.details?.bytes) > 0, JSON.stringify(copied));
    assert.deepEqual(copied.details?.backups, [full!.id]);
    assert.match(copied.message!, /^1 backup\(s\) copied to second-disk \(/);
    assert.equal(tasks[2]!.details?.copied, 1);
    assert.deepEqual(await held(ctx, 'second-disk'), [full!.id]);
    const state = readCopyState(sb.home, 'second-disk')!;
    assert.deepEqual([state.last_status, state.latest?.id, state.last_copied, state.bytes_total], ['ok', full!.id, 1, copied.details?.bytes]);

    // both copies are jobs of the service's status, with what times them
    const status = serviceStatus(sb.home, time.clock, ctx);
    const jobs = new Map(status.jobs.map((j) => [j.job, j]));
    assert.deepEqual(
      [jobs.get('copy:second-disk')?.schedule, jobs.get('copy:second-disk')?.after, jobs.get('copy:second-disk')?.last?.status],
      [null, ['full_backup', 'incremental_backup'], 'ok'],
    );
    assert.deepEqual([jobs.get('copy:nightly')?.schedule, jobs.get('copy:nightly')?.after], ['15 2 * * *', undefined]);
    assert.equal(jobs.get('copy:nightly')?.next_run, at(2026, 2, 3, 2, 15).toISOString());

    // 02:30 to 03:30 with an included folder gone: the incremental backup fails, and nothing is copied after it
    rmSync(join(sb.home, 'level-2-warm'), { recursive: true });
    time = simulatedTime(at(2026, 2, 2, 2, 30), at(2026, 2, 2, 3, 30));
    await runService({ ctx: appContext(sb, {}, time.clock), log: silentLogger, signal: time.signal });
    mkdirSync(join(sb.home, 'level-2-warm'));
    tasks = readTasks(sb.home).slice(3);
    assert.deepEqual(
      tasks.map((t) => [t.job, t.status, t.error_code]),
      [['incremental_backup', 'failed', 'ERR_BACKUP_003']],
    );
  });

  it('a copy that fails is a failed copy task of its own: the backup stays ok, and the failure is recorded for health', async () => {
    const sb = home({ schedule: { full_backup: '0 2 * * *' } });
    // a file where the copy's parent directory should be: the copy cannot be made
    writeFileSync(join(sb.root, 'not-a-dir'), 'x');
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: {
          service: { metrics_address: '' },
          schedule: { full_backup: '0 2 * * *' },
          copies: [{ name: 'offsite', repository: join(sb.root, 'not-a-dir', 'copy'), after_backup: true }],
        },
      }),
    );
    const time = simulatedTime(at(2026, 2, 2, 1, 30), at(2026, 2, 2, 2, 30));
    await runService({ ctx: appContext(sb, {}, time.clock), log: silentLogger, signal: time.signal });
    const tasks = readTasks(sb.home);
    assert.deepEqual(
      tasks.map((t) => [t.job, t.status]),
      [
        ['full_backup', 'ok'],
        ['copy:offsite', 'failed'],
      ],
    );
    assert.ok(tasks[1]!.error_code?.startsWith('ERR_'), JSON.stringify(tasks[1]));
    const state = readCopyState(sb.home, 'offsite')!;
    assert.equal(state.last_status, 'failed');
    assert.equal(state.last_attempt_at, at(2026, 2, 2, 2).toISOString());
    assert.equal(state.last_error?.code, tasks[1]!.error_code);
    assert.equal(state.last_error?.message, tasks[1]!.message);
    assert.equal(state.last_success_at, null);
  });

  it("copies what the copy's own retention keeps, each backup without its parents, then applies that retention to the copy", async () => {
    const sb = home({
      copies: [
        {
          name: 'short',
          repository: 'short',
          after_backup: true,
          keep: { full_backups_count: 1, full_backups_age_days: 0, incremental_backups_count: 5, incremental_backups_age_days: 0 },
        },
      ],
    });
    const clock = new FixedClock(at(2026, 2, 2, 2));
    const ctx = appContext(sb, {}, clock);
    const [job] = copyJobs(ctx);
    const run = () => runJob(ctx, job!, { trigger: 'scheduled', signal: new AbortController().signal, log: silentLogger });
    const f1 = await createBackup(ctx, { type: 'full', trigger: 'scheduled' });
    clock.advance(DAY);
    writeFileSync(join(sb.home, 'level-1-hot', 'changed.json'), '{"day":1}');
    const i1 = await createBackup(ctx, { type: 'incremental', trigger: 'scheduled' });
    assert.equal(i1.parent, f1.id);
    clock.advance(DAY);
    const f2 = await createBackup(ctx, { type: 'full', trigger: 'scheduled' });
    clock.advance(60_000);
    // the copy keeps one full backup: f1 stays behind, though i1 builds on it
    let { task } = await run();
    assert.equal(task.status, 'ok', JSON.stringify(task));
    assert.deepEqual(await held(ctx, 'short'), [i1.id, f2.id]);
    assert.deepEqual(task.details?.removed, []);

    clock.advance(DAY);
    const f3 = await createBackup(ctx, { type: 'full', trigger: 'scheduled' });
    clock.advance(60_000);
    ({ task } = await run());
    assert.equal(task.status, 'ok', JSON.stringify(task));
    assert.deepEqual(task.details?.backups, [f3.id]);
    assert.deepEqual(task.details?.removed, [f2.id]);
    assert.match(task.message!, /its retention removed 1/);
    assert.deepEqual(await held(ctx, 'short'), [i1.id, f3.id]);
    // the primary keeps its own
    assert.equal((await listBackups(ctx)).length, 4);
    // nothing new: nothing moves, nothing is removed
    ({ task } = await run());
    assert.deepEqual([task.details?.copied, task.details?.removed, task.details?.bytes], [0, [], 0]);
  });

  it('refuses a copy schedule that is not a cron expression, naming its key', () => {
    const sb = home({
      copies: [
        { name: 'a', repository: 'a', after_backup: true },
        { name: 'b', repository: 'b', schedule: 'every night' },
      ],
    });
    const ctx = appContext(sb);
    const time = simulatedTime(at(2026, 2, 2), at(2026, 2, 2, 1));
    return assert.rejects(runService({ ctx, log: silentLogger, signal: time.signal }), /backup\.copies\[1\]\.schedule = "every night": not a cron expression/);
  });
});

let root0: Sandbox | undefined;
/** A directory outside every PRISM_HOME (for a copy given by absolute path). */
function sb0(): string {
  root0 ??= sandbox({ init: false });
  if (!boxes.includes(root0)) boxes.push(root0);
  return root0.root;
}
