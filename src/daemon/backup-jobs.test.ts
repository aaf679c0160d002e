import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createBackup, listBackups, lockRepository, openRepository, readTasks } from '../app/index.js';
import { FixedClock, systemClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { appContext, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';
import { cleanupJob, fullBackupJob, incrementalBackupJob } from './backup-jobs.js';
import { runJob } from './job-runner.js';

const boxes: Sandbox[] = [];
after(() => boxes.forEach((b) => b.cleanup()));
function box(): Sandbox {
  const sb = sandbox();
  boxes.push(sb);
  writeDataset(sb.home, { files: 6 });
  return sb;
}
const run = (signal = new AbortController().signal) => ({ signal, trigger: 'scheduled' as const });

/** A fake clock that runs `meanwhile` (the lock holder letting go, the service stopping) when something first sleeps on it. */
class FirstSleepClock extends FixedClock {
  constructor(private meanwhile: () => unknown) {
    super(new Date('2026-02-07T02:00:15Z'));
  }
  override async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const work = this.meanwhile;
    this.meanwhile = () => undefined;
    await work();
    await super.sleep(ms, signal);
  }
}

describe('backup jobs', () => {
  it('skips backups while backup.enabled is false, and a cleanup before the first backup', async () => {
    const sb = box();
    const idle = appContext(sb, {}, systemClock);
    assert.deepEqual(await cleanupJob.run(idle, run()), { status: 'skipped', message: 'no repository yet: nothing to clean up' });
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { enabled: false } }));
    const ctx = appContext(sb, {}, systemClock);
    for (const job of [fullBackupJob, incrementalBackupJob]) {
      const { task } = await runJob(ctx, job, { trigger: 'scheduled', signal: new AbortController().signal, log: silentLogger });
      assert.deepEqual([task.status, task.message], ['skipped', 'backups are disabled (backup.enabled is false)']);
    }
    assert.deepEqual(await listBackups(ctx, {}, { missing: 'empty' }), []);
    assert.equal(readTasks(sb.home).length, 2);
  });

  it('waits for a repository lock another process holds, and runs once it is released', async () => {
    const sb = box();
    let released = false;
    const clock = new FirstSleepClock(() => {
      released = true;
      return lock.release();
    });
    const ctx = appContext(sb, {}, clock);
    await createBackup(ctx, { type: 'full' });
    const lock = await lockRepository(ctx, await openRepository(ctx), 'exclusive', 'prism backup prune');
    const before = clock.now().getTime();
    const outcome = await incrementalBackupJob.run(ctx, run());
    assert.equal(released, true);
    assert.equal(clock.now().getTime() - before, 2_000, 'one retry, after a wait on the clock');
    assert.match(outcome.message!, /^backup_\d{8}_\d{6}_incremental completed$/);
  });

  it('stops waiting for the lock when the service stops: recorded as aborted, nothing written', async () => {
    const sb = box();
    const stop = new AbortController();
    const ctx = appContext(sb, {}, new FirstSleepClock(() => stop.abort()));
    await createBackup(ctx, { type: 'full' });
    const lock = await lockRepository(ctx, await openRepository(ctx), 'exclusive', 'prism backup prune');
    try {
      const { task } = await runJob(ctx, fullBackupJob, { trigger: 'scheduled', signal: stop.signal, log: silentLogger });
      assert.deepEqual([task.status, task.error_code], ['aborted', 'ERR_PRISM_INTERRUPTED']);
      assert.equal((await listBackups(ctx)).length, 1, 'no attempt recorded: it never got the lock');
    } finally {
      await lock.release();
    }
  });
});
