import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openRepository, readTasks } from '../app/index.js';
import { createBackup } from '../app/backups/create-backup.js';
import { silentLogger } from '../core/logger.js';
import { appContext, sandbox, writeDataset } from '../testing/fixtures.js';
import { simulatedTime } from '../testing/simulated-time.js';
import { WebhookServer } from '../testing/webhook-server.js';
import { ALERT_EVALUATION_MS, ESCALATION_EVALUATION_MS, alertWork, oneAtATime } from './job-table.js';
import type { Job } from './job.js';
import { runService } from './service.js';

const MIN = 60_000;

describe('the service evaluates alerts every minute when a route escalates', () => {
  it('every 5 minutes without escalation steps, every minute with one', () => {
    const sb = sandbox();
    try {
      const config = (alerts: Record<string, unknown>) => {
        writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { alerts } }));
        return appContext(sb);
      };
      assert.equal(alertWork(config({})).periodic.everyMs, ALERT_EVALUATION_MS);
      assert.equal(alertWork(config({ command: 'true', routes: [{ steps: [{ receiver: 'command' }] }] })).periodic.everyMs, ALERT_EVALUATION_MS);
      const escalating = config({
        command: 'true',
        webhook_url: 'http://127.0.0.1:9/',
        routes: [{ steps: [{ receiver: 'command' }, { receiver: 'webhook', after_minutes: 15 }] }],
      });
      assert.equal(alertWork(escalating).periodic.everyMs, ESCALATION_EVALUATION_MS);
      assert.ok(ESCALATION_EVALUATION_MS <= 60_000);
    } finally {
      sb.cleanup();
    }
  });
});

describe('alert evaluation beside a running job', () => {
  const manager = new WebhookServer();
  before(() => manager.start());
  after(() => manager.stop());

  it('delivers the 15-minute escalation step at minute 15 of a 30-minute backup, not when the backup ends', async () => {
    const sb = sandbox();
    try {
      // local time, as the cron expression is read
      const T0 = new Date(2026, 2, 1, 2, 0);
      const techLead = join(sb.root, 'tech-lead.jsonl');
      writeDataset(sb.home, { files: 4, seed: 5 });
      const alerts = {
        command: `cat >> '${techLead}'; echo >> '${techLead}'`,
        webhook_url: manager.url,
        webhook_retries: 0,
        routes: [
          {
            match: { key: 'backup_failed:*' },
            steps: [
              { receiver: 'command', after_minutes: 0 },
              { receiver: 'webhook', after_minutes: 15 },
            ],
          },
        ],
      };
      writeFileSync(
        join(sb.home, 'config', 'backup.json'),
        JSON.stringify({ backup: { alerts, schedule: { full_backup: '0 2 * * *' }, service: { metrics_address: '' } } }),
      );
      const time = simulatedTime(new Date(T0.getTime() - 10 * MIN), new Date(T0.getTime() + 40 * MIN));
      const ctx = appContext(sb, {}, time.clock);
      // a good backup, then a failed one at T0: the alert the service finds at its start
      await createBackup(ctx, { type: 'full' });
      time.clock.set(T0);
      rmSync(join(sb.home, 'level-2-warm'), { recursive: true });
      await assert.rejects(createBackup(ctx, { type: 'full' }), /ERR_BACKUP_003|Source directory not found/);
      mkdirSync(join(sb.home, 'level-2-warm'));
      // the 02:00 job holds the repository's exclusive lock for 30 simulated minutes: the
      // evaluation beside it takes no lock (a shared one would be refused), so it is not held up
      const slowBackup: Job = {
        name: 'full_backup',
        schedule: 'full_backup',
        run: async (c, { signal }) => {
          const lock = await (await openRepository(c)).lock('exclusive', 'slow job');
          try {
            await time.clock.sleep(30 * MIN, signal);
          } finally {
            await lock.release();
          }
          return {};
        },
      };
      await runService({ ctx, log: silentLogger, signal: time.signal, jobs: [slowBackup] });

      assert.deepEqual(
        readTasks(sb.home).map((t) => [t.job, t.status, t.started_at, t.finished_at]),
        [['full_backup', 'ok', T0.toISOString(), new Date(T0.getTime() + 30 * MIN).toISOString()]],
      );
      const lead = existsSync(techLead)
        ? readFileSync(techLead, 'utf8')
            .trim()
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l))
        : [];
      assert.deepEqual(
        lead.map((m) => [m.notification, m.alert.key.split(':')[0], m.time]),
        [['raised', 'backup_failed', T0.toISOString()]],
      );
      const told = manager.bodies.map((b) => (b as { json: { notification: string; time: string; alert: { key: string } } }).json);
      assert.deepEqual(
        told.map((m) => [m.notification, m.alert.key, m.time]),
        [['raised', lead[0].alert.key, new Date(T0.getTime() + 15 * MIN).toISOString()]],
      );
    } finally {
      sb.cleanup();
    }
  });
});

describe('oneAtATime', () => {
  it('never runs two at once; a call during a run runs afresh after it, calls waiting together share one run', async () => {
    let running = 0;
    let runs = 0;
    const release: Array<() => void> = [];
    const work = oneAtATime(async () => {
      assert.equal(running, 0, 'two runs at once');
      running++;
      const n = ++runs;
      await new Promise<void>((r) => release.push(r));
      running--;
      return n;
    });
    const first = work();
    await new Promise((r) => setImmediate(r));
    const second = work();
    const third = work();
    assert.equal(second, third);
    assert.equal(release.length, 1, 'the second waits for the first');
    release.shift()!();
    assert.equal(await first, 1);
    await new Promise((r) => setImmediate(r));
    release.shift()!();
    assert.deepEqual(await Promise.all([second, third]), [2, 2]);
    assert.equal(runs, 2);
  });
});
