import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { backupInfo, createBackup, listBackups, readDrills, readTasks } from '../app/index.js';
import { silentLogger } from '../core/logger.js';
import { flipChunkOf } from '../testing/damage.js';
import { appContext, prngBytes, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';
import { simulatedTime } from '../testing/simulated-time.js';
import { drillJob, verifyJob } from './check-jobs.js';
import { runJob } from './job-runner.js';
import { JOBS } from './job-table.js';
import { compileSchedule } from './schedule.js';
import { Scheduler } from './scheduler.js';

const MiB = 1024 * 1024;
const BIG = 'level-1-hot/aaa-big.bin';
const at = (y: number, mo: number, d: number, h = 0, mi = 0) => new Date(y, mo - 1, d, h, mi);

const boxes: Sandbox[] = [];
after(() => boxes.forEach((b) => b.cleanup()));

function home(): Sandbox {
  const sb = sandbox();
  boxes.push(sb);
  writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { service: { metrics_address: '' } } }));
  writeDataset(sb.home, { files: 6 });
  writeFileSync(join(sb.home, BIG), prngBytes(6 * MiB, 21));
  return sb;
}

describe('the service runs background verification and drills as jobs', () => {
  it('data lost for good: the verify job fails with ERR_BACKUP_005 and the full backup it asks for runs next', async () => {
    const sb = home();
    // Tuesday 04:00 to 05:00: the 04:30 verification is the only job due
    const time = simulatedTime(at(2026, 2, 3, 4, 0), at(2026, 2, 3, 5, 0));
    const ctx = appContext(sb, { PRISM_BACKUP_CONCURRENCY: '1' }, time.clock);
    const m = await createBackup(ctx, { type: 'full' });
    await flipChunkOf(sb, m, BIG);
    writeFileSync(join(sb.home, BIG), prngBytes(6 * MiB, 99)); // the live file no longer holds the lost content
    const scheduler = new Scheduler({
      schedule: compileSchedule(ctx, JOBS),
      clock: time.clock,
      log: silentLogger,
      tasks: [],
      firstStarted: undefined,
      execute: (run, signal) =>
        runJob(ctx, run.job, { trigger: run.trigger, signal, log: silentLogger, hooks: [], ...(run.details ? { details: run.details } : {}) }),
    });
    await scheduler.run(time.signal);
    const tasks = readTasks(sb.home).filter((t) => t.job !== 'repair');
    assert.deepEqual(
      tasks.map((t) => [t.job, t.trigger, t.status, t.error_code]),
      [
        ['verify', 'scheduled', 'failed', 'ERR_BACKUP_005'],
        ['full_backup', 'follow-up', 'ok', undefined],
      ],
    );
    assert.equal(tasks[0]!.details?.needs_full_backup, true);
    assert.deepEqual(tasks[0]!.details?.corrupted, [m.id]);
    assert.equal((await backupInfo(ctx, m.id)).status, 'corrupted');
    const [fresh] = await listBackups(ctx);
    assert.equal(fresh!.id, tasks[1]!.details?.backup_id);
    assert.equal(fresh!.status, 'completed');
  });

  it('a drill job records the drill and reports its RTO; over a damaged backup it fails with its code', async () => {
    const sb = home();
    const time = simulatedTime(at(2026, 2, 1, 4, 0), at(2026, 2, 1, 6, 0));
    const ctx = appContext(sb, { PRISM_BACKUP_CONCURRENCY: '1' }, time.clock);
    const m = await createBackup(ctx, { type: 'full' });
    const signal = new AbortController().signal;
    const ok = await drillJob.run(ctx, { signal, trigger: 'scheduled' });
    assert.equal(ok.status, undefined);
    assert.equal(ok.details?.backup_id, m.id);
    assert.equal(ok.details?.within_target, true);
    await flipChunkOf(sb, m, BIG);
    const bad = await drillJob.run(ctx, { signal, trigger: 'scheduled' });
    assert.equal(bad.status, 'failed');
    assert.match(String(bad.error_code), /^ERR_/);
    assert.deepEqual(
      readDrills(sb.home).map((d) => d.status),
      ['passed', 'failed'],
    );
    // a verify job on a sound repository: ok, nothing to follow
    const sound = home();
    const ctx2 = appContext(sound, { PRISM_BACKUP_CONCURRENCY: '1' }, time.clock);
    await createBackup(ctx2, { type: 'full' });
    const v = await verifyJob.run(ctx2, { signal, trigger: 'manual' });
    assert.deepEqual([v.status, v.followUps], [undefined, []]);
    assert.ok(Number(v.details?.packs_read) >= 1);
  });
});
