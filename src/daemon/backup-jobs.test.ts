import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createBackup, listBackups, lockRepository, openRepository, readTasks } from '../app/index.js';
import { systemClock } from '../core/clock.js';
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
    const ctx = appContext(sb, {}, systemClock);
    await createBackup(ctx, { type: 'full' });
    const lock = await lockRepository(ctx, await openRepository(ctx), 'exclusive', 'prism backup prune');
    let released = false;
    setTimeout(() => {
      released = true;
      void lock.release();
    }, 300);
    const outcome = await incrementalBackupJob.run(ctx, run());
    assert.equal(released, true);
    assert.match(outcome.message!, /^backup_\d{8}_\d{6}_incremental completed$/);
  });

  it('stops waiting for the lock when the service stops: recorded as aborted, nothing written', async () => {
    const sb = box();
    const ctx = appContext(sb, {}, systemClock);
    await createBackup(ctx, { type: 'full' });
    const lock = await lockRepository(ctx, await openRepository(ctx), 'exclusive', 'prism backup prune');
    try {
      const stop = new AbortController();
      setTimeout(() => stop.abort(), 300);
      const { task } = await runJob(ctx, fullBackupJob, { trigger: 'scheduled', signal: stop.signal, log: silentLogger });
      assert.deepEqual([task.status, task.error_code], ['aborted', 'ERR_PRISM_INTERRUPTED']);
      assert.equal((await listBackups(ctx)).length, 1, 'no attempt recorded: it never got the lock');
    } finally {
      await lock.release();
    }
  });
});
