import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { FixedClock } from '../../core/clock.js';
import { appContext, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { WebhookServer } from '../../testing/webhook-server.js';
import { createBackup } from '../backups/create-backup.js';
import { recordDrill } from '../integrity/drill-history.js';
import { acknowledgeAlert, addSilence, listSilences, removeSilence } from './alert-controls.js';
import { evaluateAlerts } from './alerts.js';
import { savedAlerts } from './alert-state.js';
import { openRepository, type AppContext } from '../context.js';

const MIN = 60_000;
const T0 = new Date('2026-03-01T02:00:00Z');

/**
 * The notification chain through evaluateAlerts on a fake clock, with today's two receivers as the
 * people: `command` is the tech lead (its messages appended to a file), `webhook` the project manager
 * (a local HTTP server).
 */
describe('alert routes: escalation, acknowledgement, silences, grouping (evaluateAlerts, fake clock)', () => {
  let sb: Sandbox;
  let clock: FixedClock;
  let techLead: string;
  const manager = new WebhookServer();
  before(() => manager.start());
  after(() => manager.stop());
  beforeEach(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 4, seed: 3 });
    mkdirSync(sb.repo);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', sb.repo]);
    clock = new FixedClock(T0);
    techLead = join(sb.root, 'tech-lead.jsonl');
    manager.bodies.length = 0;
  });
  afterEach(() => {
    execFileSync('umount', [sb.repo]);
    sb.cleanup();
  });

  const ctx = (): AppContext => {
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
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { alerts } }));
    return appContext(sb, {}, clock);
  };
  const told = () =>
    existsSync(techLead)
      ? readFileSync(techLead, 'utf8')
          .trim()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
      : [];
  const managerTold = () => manager.bodies.map((b) => (b as { json: { notification: string; alert: { key: string } } }).json);

  /** A good backup, then (a minute later) a failed one: the alert starts at T0. */
  async function failedBackup(c: AppContext): Promise<void> {
    clock.set(new Date(T0.getTime() - 10 * MIN));
    await createBackup(c, { type: 'full' });
    clock.set(T0);
    rmSync(join(sb.home, 'level-2-warm'), { recursive: true });
    await assert.rejects(createBackup(c, { type: 'full' }), /ERR_BACKUP_003|Source directory not found/);
    mkdirSync(join(sb.home, 'level-2-warm'));
  }
  /** Evaluates as the service does, every minute from now to minute `to` after T0. */
  async function evaluateUntil(c: AppContext, to: number): Promise<void> {
    while (clock.now().getTime() < T0.getTime() + to * MIN) {
      clock.advance(MIN);
      await evaluateAlerts(c);
    }
  }

  it('tech lead at minute 0, project manager at minute 15, resolution to both', async () => {
    const c = ctx();
    await failedBackup(c);
    const r0 = await evaluateAlerts(c);
    const key = r0.raised[0]!;
    assert.match(key, /^backup_failed:/);
    assert.deepEqual(
      told().map((m) => [m.notification, m.alert.key]),
      [['raised', key]],
    );
    assert.equal(r0.routing[0]!.next_step_at, new Date(T0.getTime() + 15 * MIN).toISOString());
    await evaluateUntil(c, 14);
    assert.equal(manager.bodies.length, 0, 'not before minute 15');
    await evaluateUntil(c, 15);
    assert.deepEqual(
      managerTold().map((m) => [m.notification, m.alert.key]),
      [['raised', key]],
    );
    await evaluateUntil(c, 20);
    assert.equal(told().length, 1);
    assert.equal(manager.bodies.length, 1);
    await createBackup(c, { type: 'full' });
    const r = await evaluateAlerts(c);
    assert.deepEqual(r.resolved_now, [key]);
    assert.deepEqual(
      told().map((m) => m.notification),
      ['raised', 'resolved'],
    );
    assert.deepEqual(
      managerTold().map((m) => m.notification),
      ['raised', 'resolved'],
    );
    const events = readFileSync(join(sb.home, 'logs', 'events.log'), 'utf8');
    assert.match(events, /"event":"alert.escalated"/);
  });

  it('acknowledged at minute 10: the project manager is never told, the resolution goes to the tech lead only', async () => {
    const c = ctx();
    await failedBackup(c);
    const key = (await evaluateAlerts(c)).raised[0]!;
    await evaluateUntil(c, 10);
    const acked = await acknowledgeAlert(c, key, 'restoring the disk');
    assert.equal(acked.acknowledged!.comment, 'restoring the disk');
    assert.equal(savedAlerts(sb.home).active[0]!.acknowledged!.at, new Date(T0.getTime() + 10 * MIN).toISOString());
    await evaluateUntil(c, 60);
    assert.equal(manager.bodies.length, 0);
    await createBackup(c, { type: 'full' });
    await evaluateAlerts(c);
    assert.deepEqual(
      told().map((m) => m.notification),
      ['raised', 'resolved'],
    );
    assert.equal(manager.bodies.length, 0);
    await assert.rejects(acknowledgeAlert(c, 'no_such_alert'), /No active alert "no_such_alert"/);
  });

  it('a silence holds every notification back until it expires; removing it ends it at once', async () => {
    const c = ctx();
    const s = addSilence(c, { match: 'backup_failed:*', duration: '30m', comment: 'disk swap' });
    await assert.rejects(async () => addSilence(c, { match: '*', duration: 'soon' }), /--for "soon" is not a duration/);
    await failedBackup(c);
    const r0 = await evaluateAlerts(c);
    assert.equal(r0.routing[0]!.silenced_by, s.id);
    await evaluateUntil(c, 29);
    assert.deepEqual([told().length, manager.bodies.length], [0, 0]);
    await evaluateUntil(c, 30);
    assert.deepEqual([told().length, manager.bodies.length], [1, 1], 'expired: both steps were due');
    assert.deepEqual(
      listSilences(c).map((x) => [x.id, x.state]),
      [[s.id, 'expired']],
    );
    const s2 = addSilence(c, { match: 'drill_*', duration: '2h' });
    assert.equal(listSilences(c).find((x) => x.id === s2.id)!.state, 'active');
    removeSilence(c, s2.id);
    assert.equal(listSilences(c).length, 1);
    assert.throws(() => removeSilence(c, s2.id), /No silence/);
  });

  it('an alert notified before routes existed (state file without told) is not sent again', async () => {
    const c = ctx();
    await failedBackup(c);
    const r0 = await evaluateAlerts(c);
    assert.equal(told().length, 1);
    const file = join(sb.home, 'state', 'alerts.json');
    const state = JSON.parse(readFileSync(file, 'utf8'));
    for (const a of state.active) for (const k of ['escalation_since', 'episode_told', 'told', 'acknowledged']) delete a[k];
    writeFileSync(file, JSON.stringify(state));
    clock.advance(MIN);
    const r1 = await evaluateAlerts(c);
    assert.deepEqual(r1.deliveries, [], `${r0.raised[0]} was told already`);
    assert.equal(told().length, 1);
  });

  it('alerts raised in one evaluation go to a receiver as one message', async () => {
    const c = ctx();
    await failedBackup(c);
    const m = (await (await openRepository(c)).listManifests()).find((x) => x.status === 'completed')!;
    recordDrill(sb.home, {
      time: clock.now().toISOString(),
      backup_id: m.id,
      trigger: 'manual',
      status: 'failed',
      rto_seconds: 3,
      target_seconds: 10,
      within_target: true,
      files_checked: 0,
      error: { code: 'ERR_BACKUP_005', message: 'chunk damaged' },
    });
    const r = await evaluateAlerts(c);
    assert.equal(r.raised.length, 2);
    // drill_failed matches no route: every receiver at once; backup_failed: the tech lead first
    const lead = told();
    assert.equal(lead.length, 1, 'one message to the tech lead');
    assert.equal(lead[0].count, 2);
    assert.deepEqual(lead[0].alerts.map((a: { key: string }) => a.key).sort(), [...r.raised].sort());
    assert.equal(manager.bodies.length, 1);
    assert.equal(managerTold()[0]!.alert.key, 'drill_failed');
  });
});
