import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { listBackups, pidFile, readTasks } from '../app/index.js';
import { silentLogger } from '../core/logger.js';
import type { PrismError } from '../errors/index.js';
import { appContext, sandbox, writeDataset } from '../testing/fixtures.js';
import { simulatedTime } from '../testing/simulated-time.js';
import { runService } from './service.js';
import { readServiceState } from './service-state.js';

const at = (y: number, mo: number, d: number, h = 0, mi = 0) => new Date(y, mo - 1, d, h, mi);

describe('the service over simulated time', () => {
  const sb = sandbox();
  after(() => sb.cleanup());
  writeDataset(sb.home, { files: 8 });
  writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { service: { metrics_address: '' } } }));

  it('catches up a run missed while it was down, once, at start-up', async () => {
    // first start Monday 02:30, stopped at 03:30: the 03:00 incremental ran (promoted: no full backup yet)
    let time = simulatedTime(at(2026, 2, 2, 2, 30), at(2026, 2, 2, 3, 30));
    let ready = 0;
    await runService({ ctx: appContext(sb, {}, time.clock), log: silentLogger, signal: time.signal, onReady: () => ready++ });
    assert.equal(ready, 1);
    const first = readServiceState(sb.home)!;
    assert.equal(first.first_started_at, at(2026, 2, 2, 2, 30).toISOString());
    assert.equal(first.stopped_at, at(2026, 2, 2, 3, 30).toISOString());
    assert.equal(existsSync(pidFile(sb.home)), false, 'pid file removed at stop');

    // down from Monday 03:30 to Thursday 12:00: the incrementals of Tuesday, Wednesday and Thursday 03:00 passed
    time = simulatedTime(at(2026, 2, 5, 12, 0), at(2026, 2, 5, 13, 0));
    const ctx = appContext(sb, {}, time.clock);
    await runService({ ctx, log: silentLogger, signal: time.signal });
    const tasks = readTasks(sb.home);
    assert.deepEqual(
      tasks.map((t) => [t.job, t.trigger, t.status, t.started_at, t.details?.missed_run]),
      [
        ['incremental_backup', 'scheduled', 'ok', at(2026, 2, 2, 3).toISOString(), undefined],
        ['incremental_backup', 'catch-up', 'ok', at(2026, 2, 5, 12).toISOString(), at(2026, 2, 5, 3).toISOString()],
        // the nightly verification of 04:30 was missed three times too: it also runs once
        ['verify', 'catch-up', 'ok', at(2026, 2, 5, 12).toISOString(), at(2026, 2, 5, 4, 30).toISOString()],
      ],
    );
    const [latest, full] = await listBackups(ctx);
    assert.equal(latest!.type, 'incremental');
    assert.equal(latest!.parent, full!.id);
    assert.equal(readServiceState(sb.home)!.first_started_at, at(2026, 2, 2, 2, 30).toISOString(), 'the first start is kept across restarts');
  });

  it('refuses to start while a live process holds the pid file, and replaces a stale one', async () => {
    writeFileSync(pidFile(sb.home), `${process.ppid}\n`);
    const time = simulatedTime(at(2026, 2, 6, 12, 0), at(2026, 2, 6, 12, 10));
    await assert.rejects(
      runService({ ctx: appContext(sb, {}, time.clock), log: silentLogger, signal: time.signal }),
      (e: PrismError) => e.code === 'SERVICE_ALREADY_RUNNING' && e.id === 'ERR_PRISM_ALREADY_RUNNING' && e.message.includes(`pid ${process.ppid}`),
    );
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(pidFile(sb.home), `${dead}\n`);
    let pidWhileRunning = '';
    await runService({
      ctx: appContext(sb, {}, time.clock),
      log: silentLogger,
      signal: time.signal,
      onReady: () => (pidWhileRunning = String(readServiceState(sb.home)!.pid)),
    });
    assert.equal(pidWhileRunning, String(process.pid));
    assert.equal(existsSync(pidFile(sb.home)), false);
  });

  it('refuses a missing PRISM_HOME and a bad metrics address before starting', async () => {
    const time = simulatedTime(at(2026, 2, 6), at(2026, 2, 6, 1));
    await assert.rejects(
      runService({ ctx: appContext(sb, { PRISM_HOME: join(sb.root, 'nope') }, time.clock), log: silentLogger, signal: time.signal }),
      (e: PrismError) => e.id === 'ERR_BACKUP_003',
    );
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { service: { metrics_address: 'localhost' } } }));
    await assert.rejects(
      runService({ ctx: appContext(sb, {}, time.clock), log: silentLogger, signal: time.signal }),
      (e: PrismError) => e.id === 'ERR_PRISM_CONFIG' && /backup\.service\.metrics_address = "localhost"/.test(e.message),
    );
    assert.equal(existsSync(pidFile(sb.home)), false);
  });
});
