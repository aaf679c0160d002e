import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readTasks } from '../app/index.js';
import { systemClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { appContext, sandbox } from '../testing/fixtures.js';
import { HttpRecorder } from '../testing/http-recorder.js';
import type { Job } from './job.js';
import { runJob } from './job-runner.js';

const sb = sandbox();
after(() => sb.cleanup());

describe('job runner: the task record of a failed job', () => {
  it('a system error on a path is recorded by its code and meaning, not as a bug in prism', async () => {
    const file = join(sb.root, 'a-file');
    writeFileSync(file, 'x');
    const job: Job = { name: 'full_backup', schedule: 'full_backup', run: async () => ({ message: readFileSync(join(file, 'state.json'), 'utf8') }) };
    const { task } = await runJob(appContext(sb, {}, systemClock), job, { trigger: 'scheduled', signal: new AbortController().signal, log: silentLogger });
    assert.deepEqual([task.status, task.error_code], ['failed', 'ERR_PRISM_PATH']);
    assert.match(task.message!, new RegExp(`${file} is a file, not a directory`));
    assert.deepEqual(
      readTasks(sb.home).map((t) => t.error_code),
      ['ERR_PRISM_PATH'],
    );
  });
});

describe('job runner: healthchecks receivers are pinged at the start and end of every job', () => {
  const hc = new HttpRecorder();
  before(() => hc.start());
  after(() => hc.stop());
  const TOKEN = '5f8e2b7c-token';
  let closedPort = 0;
  before(async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    closedPort = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
  });

  it('start then success for a job that works, start then fail for one that fails; a dead ping URL never fails the job', async () => {
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: {
          alerts: {
            webhook_retries: 0,
            receivers: [
              { name: 'hc', kind: 'healthchecks', url_env: 'PRISM_HC_URL' },
              { name: 'dead', kind: 'healthchecks', url: `http://127.0.0.1:${closedPort}/ping/x` },
            ],
          },
        },
      }),
    );
    const ctx = appContext(sb, { PRISM_HC_URL: `${hc.url}/ping/${TOKEN}` } as never, systemClock);
    process.env.PRISM_HC_URL = `${hc.url}/ping/${TOKEN}`;
    try {
      const ok: Job = { name: 'verify', schedule: 'verify', run: async () => ({}) };
      const bad: Job = { name: 'full_backup', schedule: 'full_backup', run: async () => Promise.reject(new Error('disk on fire')) };
      const a = await runJob(ctx, ok, { trigger: 'scheduled', signal: new AbortController().signal, log: silentLogger });
      const b = await runJob(ctx, bad, { trigger: 'scheduled', signal: new AbortController().signal, log: silentLogger });
      assert.deepEqual([a.task.status, b.task.status], ['ok', 'failed']);
    } finally {
      delete process.env.PRISM_HC_URL;
    }
    assert.deepEqual(
      hc.requests.map((r) => [r.path, r.body.replace(/: .*/, '')]),
      [
        [`/ping/${TOKEN}/start`, 'verify started (scheduled)'],
        [`/ping/${TOKEN}`, 'verify ok'],
        [`/ping/${TOKEN}/start`, 'full_backup started (scheduled)'],
        [`/ping/${TOKEN}/fail`, 'full_backup failed'],
      ],
    );
    const events = readFileSync(join(sb.home, 'logs', 'events.log'), 'utf8');
    const pings = events
      .split('\n')
      .filter((l) => l.includes('healthchecks.ping'))
      .map((l) => JSON.parse(l) as { receiver: string; ok: boolean; error?: string });
    assert.equal(pings.length, 8);
    assert.ok(pings.filter((p) => p.receiver === 'dead').every((p) => !p.ok && /connection refused/.test(p.error!)));
    assert.ok(!events.includes(TOKEN));
  });
});
