import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { AlertsConfig } from '../../config/index.js';
import { FixedClock } from '../../core/clock.js';
import { appContext, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { WebhookServer } from '../../testing/webhook-server.js';
import { alertsFile } from './alert-state.js';
import { activeAlerts, evaluateAlerts } from './alerts.js';
import { openRepository, type AppContext } from '../context.js';
import { createBackup } from '../backups/create-backup.js';
import { recordDrill } from '../integrity/drill-history.js';
import { eventsFile, recordEvent } from './events.js';
import { verifyBackups } from '../integrity/verify-backups.js';

const MIN = 60_000;
const T0 = new Date('2026-02-08T10:00:00Z');

function events(sb: Sandbox, prefix = 'alert.'): Array<Record<string, unknown>> {
  if (!existsSync(eventsFile(sb.home))) return [];
  return readFileSync(eventsFile(sb.home), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => String(e.event).startsWith(prefix));
}

/** A backup attempt that really fails: an included folder is missing (ERR_BACKUP_003). */
async function failedBackup(ctx: AppContext, sb: Sandbox): Promise<string> {
  rmSync(join(sb.home, 'level-2-warm'), { recursive: true });
  await assert.rejects(createBackup(ctx, { type: 'full' }), /ERR_BACKUP_003|Source directory not found/);
  mkdirSync(join(sb.home, 'level-2-warm'));
  const repo = await openRepository(ctx);
  return (await repo.listManifests()).filter((m) => m.status === 'failed').at(-1)!.id;
}

function deadPid(): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout);
}

describe('evaluateAlerts: raise, repeat, resolve, deliver', () => {
  let sb: Sandbox;
  let clock: FixedClock;
  const server = new WebhookServer();
  before(() => server.start());
  after(() => server.stop());
  // the repository on a tmpfs of its own, so that disk use is known (and can be filled)
  beforeEach(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 6, seed: 9 });
    mkdirSync(sb.repo);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', sb.repo]);
    clock = new FixedClock(T0);
  });
  afterEach(() => {
    execFileSync('umount', [sb.repo]);
    sb.cleanup();
  });
  const ctx = (alerts: Partial<AlertsConfig> = {}) => {
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { alerts } }));
    return appContext(sb, {}, clock);
  };

  it('a failed backup is raised once, repeated every repeat_interval_minutes, resolved by the next success (log only)', async () => {
    const c = ctx({ repeat_interval_minutes: 60 });
    await createBackup(c, { type: 'full' });
    clock.advance(60 * MIN);
    const failed = await failedBackup(c, sb);
    clock.advance(5 * MIN);
    const r1 = await evaluateAlerts(c);
    assert.deepEqual(r1.raised, [`backup_failed:${failed}`]);
    assert.equal(r1.saved, true);
    const [a] = r1.active;
    assert.equal(a!.severity, 'high');
    assert.match(a!.message, new RegExp(`Backup ${failed} failed \\[ERR_BACKUP_003\\]`));
    assert.match(a!.fix, /prism init|backup\.sources\.include/, 'the SOP fix of the error code');
    assert.equal(a!.notifications, 1, 'with no webhook or command the log line is the notification');
    assert.equal(a!.pending, null);
    assert.deepEqual(
      events(sb).map((e) => [e.event, e.severity, e.key]),
      [['alert.raised', 'high', `backup_failed:${failed}`]],
    );

    clock.advance(30 * MIN);
    const r2 = await evaluateAlerts(c);
    assert.deepEqual([r2.raised, r2.repeated, r2.resolved_now], [[], [], []], 'still active: nothing new before the interval');
    clock.advance(30 * MIN);
    const r3 = await evaluateAlerts(c);
    assert.deepEqual(r3.repeated, [`backup_failed:${failed}`]);
    assert.equal(r3.active[0]!.notifications, 2);
    assert.equal(r3.active[0]!.raised_at, new Date(T0.getTime() + 65 * MIN).toISOString());

    clock.advance(MIN);
    await createBackup(c, { type: 'incremental' });
    const r4 = await evaluateAlerts(c);
    assert.deepEqual(r4.resolved_now, [`backup_failed:${failed}`]);
    assert.deepEqual(r4.active, []);
    assert.equal(r4.resolved[0]!.state, 'resolved');
    assert.equal(r4.resolved[0]!.resolved_at, clock.now().toISOString());
    assert.deepEqual(
      events(sb).map((e) => e.event),
      ['alert.raised', 'alert.repeat', 'alert.resolved'],
    );
    assert.deepEqual(activeAlerts(sb.home), []);
    assert.equal(JSON.parse(readFileSync(alertsFile(sb.home), 'utf8')).resolved.length, 1);
    // the same problem again later is a new alert
    clock.advance(MIN);
    const again = await failedBackup(c, sb);
    assert.deepEqual((await evaluateAlerts(c)).raised, [`backup_failed:${again}`]);
  });

  it('webhook: fails, stays pending, is retried at the next evaluation (500, 500, then accepted), then resolved', async () => {
    const c = ctx({ webhook_url: server.url, webhook_retries: 2, webhook_timeout_ms: 3000 });
    await createBackup(c, { type: 'full' });
    clock.advance(MIN);
    const failed = await failedBackup(c, sb);
    server.bodies.length = 0;
    server.plan = [500, 500, 500];
    const r1 = await evaluateAlerts(c);
    assert.equal(server.bodies.length, 3, 'one attempt and two retries');
    assert.deepEqual(
      r1.deliveries.map((d) => [d.key, d.target, d.ok]),
      [[`backup_failed:${failed}`, 'webhook', false]],
    );
    const pending = r1.active[0]!.pending!;
    assert.equal(pending.kind, 'raised');
    assert.deepEqual(pending.targets, ['webhook']);
    assert.match(pending.last_error!, /HTTP 500/);
    assert.equal(r1.active[0]!.notified_at, null);

    server.bodies.length = 0;
    server.plan = [500, 500];
    clock.advance(5 * MIN);
    const evaluated = clock.now();
    const r2 = await evaluateAlerts(c);
    assert.equal(clock.now().getTime() - evaluated.getTime(), 250 + 500, 'the backoff between attempts passed on the clock');
    assert.deepEqual(r2.raised, [], 'not raised a second time');
    assert.deepEqual(
      r2.deliveries.map((d) => d.ok),
      [true],
    );
    assert.equal(server.bodies.length, 3, 'fails twice with 500, then accepted');
    const body = (server.bodies.at(-1) as { json: { notification: string; alert: { key: string; severity: string; state: string } } }).json;
    assert.deepEqual([body.notification, body.alert.key, body.alert.severity, body.alert.state], ['raised', `backup_failed:${failed}`, 'high', 'active']);
    assert.equal(r2.active[0]!.pending, null);
    assert.equal(r2.active[0]!.notified_at, evaluated.toISOString());

    server.bodies.length = 0;
    assert.deepEqual((await evaluateAlerts(c)).deliveries, [], 'delivered: not sent again');
    await createBackup(c, { type: 'full' });
    const r3 = await evaluateAlerts(c);
    assert.deepEqual(r3.resolved_now, [`backup_failed:${failed}`]);
    assert.equal(server.bodies.length, 1);
    assert.equal((server.bodies[0] as { json: { notification: string } }).json.notification, 'resolved');
  });

  it('deliver: false keeps notifications pending for the next delivering evaluation', async () => {
    const out = join(sb.root, 'alerts.jsonl');
    const c = ctx({ command: `cat >> '${out}'` });
    await createBackup(c, { type: 'full' });
    clock.advance(MIN);
    await failedBackup(c, sb);
    const quiet = await evaluateAlerts(c, { deliver: false });
    assert.equal(quiet.raised.length, 1);
    assert.equal(existsSync(out), false, 'nothing sent');
    assert.equal(quiet.active[0]!.pending!.kind, 'raised');
    const loud = await evaluateAlerts(c);
    assert.deepEqual(loud.raised, []);
    assert.deepEqual(
      loud.deliveries.map((d) => [d.target, d.ok]),
      [['command', true]],
    );
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, 1);
    assert.equal(lines[0].notification, 'raised');
  });

  it('a failing command and a dead webhook never throw; each target is retried on its own', async () => {
    const out = join(sb.root, 'got.jsonl');
    const closed = new WebhookServer();
    await closed.start();
    await closed.stop();
    const c = ctx({ command: `cat >> '${out}'`, webhook_url: closed.url, webhook_retries: 0 });
    await createBackup(c, { type: 'full' });
    clock.advance(MIN);
    await failedBackup(c, sb);
    const r = await evaluateAlerts(c);
    assert.deepEqual(
      r.deliveries.map((d) => [d.target, d.ok]),
      [
        ['webhook', false],
        ['command', true],
      ],
    );
    assert.deepEqual(r.active[0]!.pending!.targets, ['webhook'], 'only the webhook is left to deliver');
    assert.match(r.active[0]!.pending!.last_error!, /ECONNREFUSED/);
    const again = await evaluateAlerts(c);
    assert.deepEqual(
      again.deliveries.map((d) => d.target),
      ['webhook'],
      'the command is not run twice',
    );
    assert.equal(again.active[0]!.pending!.attempts, 2);
    assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 1);
    // the webhook removed from the configuration: nothing is left to wait for
    const after = await evaluateAlerts(ctx({ command: `cat >> '${out}'` }));
    assert.deepEqual(after.deliveries, []);
    assert.equal(after.active[0]!.pending, null);
    assert.equal(readFileSync(out, 'utf8').trim().split('\n').length, 1, 'and the command is not run again');
  });

  it('drills and verification failures from the records on disk', async () => {
    const c = ctx();
    const m = await createBackup(c, { type: 'full' });
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
    assert.deepEqual((await evaluateAlerts(c)).raised, ['drill_failed']);
    recordDrill(sb.home, {
      time: new Date(clock.now().getTime() + 1000).toISOString(),
      backup_id: m.id,
      trigger: 'manual',
      status: 'passed',
      rto_seconds: 12.5,
      target_seconds: 10,
      within_target: false,
      files_checked: 7,
    });
    const slow = await evaluateAlerts(c);
    assert.deepEqual([slow.raised, slow.resolved_now], [['drill_over_rto'], ['drill_failed']]);
    assert.equal(slow.active[0]!.severity, 'medium');

    // damage every pack: verify marks the backup corrupted
    for (const f of readdirSync(join(sb.repo, 'data'), { recursive: true })
      .map(String)
      .filter((f) => /[0-9a-f]{64}$/.test(f))) {
      const p = join(sb.repo, 'data', f);
      const buf = readFileSync(p);
      buf[buf.length >> 1] ^= 0xff;
      writeFileSync(p, buf);
    }
    const v = await verifyBackups(c, { id: m.id, data: { kind: 'all' } }).catch((e) => e);
    assert.equal(v.ok ?? false, false);
    const r = await evaluateAlerts(c);
    // its only backup damaged, there is no good backup left either
    assert.deepEqual(r.raised, ['no_recent_success', `verify_failed:${m.id}`]);
    assert.equal(r.active.find((a) => a.key === `verify_failed:${m.id}`)!.severity, 'high');
    // the damaged backup deleted: the condition clears
    await (await openRepository(c)).deleteManifest(m.id);
    assert.ok((await evaluateAlerts(c)).resolved_now.includes(`verify_failed:${m.id}`));
  });

  it('a verify.failed event stands until a later successful verify of that backup', async () => {
    const c = ctx();
    const m = await createBackup(c, { type: 'full' });
    // as a background check that found a damaged pack (since repaired) records it
    recordEvent(sb.home, { time: clock.now().toISOString(), severity: 'high', event: 'verify.failed', backup: m.id, message: 'pack 1f… missing' });
    const r = await evaluateAlerts(c);
    assert.deepEqual(r.raised, [`verify_failed:${m.id}`]);
    assert.match(r.active[0]!.message, /failed verification at .*: pack 1f… missing/);
    clock.advance(MIN);
    assert.equal((await verifyBackups(c, { id: m.id, data: { kind: 'all' } })).ok, true);
    assert.equal(events(sb, 'verify.ok').at(-1)!.backup, m.id, 'a successful verify is recorded');
    assert.deepEqual((await evaluateAlerts(c)).resolved_now, [`verify_failed:${m.id}`]);
  });

  it('concurrent evaluators: a live holder leaves the state alone, a dead one is taken over, a damaged file is set aside', async () => {
    const c = ctx();
    await createBackup(c, { type: 'full' });
    await evaluateAlerts(c);
    const before = readFileSync(alertsFile(sb.home), 'utf8');
    const lock = join(sb.home, 'state', 'alerts.lock');
    writeFileSync(lock, String(process.pid));
    clock.advance(3 * 24 * 60 * MIN); // no success for 72 h: would raise
    const busy = await evaluateAlerts(c);
    assert.equal(busy.saved, false);
    assert.deepEqual(
      busy.active.map((a) => a.key),
      ['no_recent_success'],
      'the report shows what holds now',
    );
    assert.equal(readFileSync(alertsFile(sb.home), 'utf8'), before, 'the state file is not touched');
    assert.equal(existsSync(lock), true, "nor the other process's lock");
    writeFileSync(lock, String(deadPid()));
    const taken = await evaluateAlerts(c);
    assert.equal(taken.saved, true);
    assert.deepEqual(taken.raised, ['no_recent_success']);
    assert.equal(existsSync(lock), false, 'released');
    writeFileSync(alertsFile(sb.home), '{"version":1,"active":[{"key"');
    const fresh = await evaluateAlerts(c);
    assert.equal(fresh.saved, true);
    assert.deepEqual(fresh.raised, ['no_recent_success'], 'a fresh start raises what holds');
    assert.equal(readFileSync(`${alertsFile(sb.home)}.damaged`, 'utf8'), '{"version":1,"active":[{"key"');
    assert.deepEqual(
      activeAlerts(sb.home).map((a) => a.key),
      ['no_recent_success'],
    );
    assert.deepEqual(readdirSync(join(sb.home, 'state')).sort(), ['alerts.json', 'alerts.json.damaged'], 'no temporary files left');
  });

  it("the age of the evaluators' lock is read on the clock: a live holder is left alone for 30 minutes, then taken over", async () => {
    const c = ctx();
    await createBackup(c, { type: 'full' });
    await evaluateAlerts(c);
    const lock = join(sb.home, 'state', 'alerts.lock');
    writeFileSync(lock, String(process.pid));
    utimesSync(lock, clock.now(), clock.now());
    clock.advance(29 * MIN);
    assert.equal((await evaluateAlerts(c)).saved, false, 'a live holder of 29 minutes');
    assert.equal(existsSync(lock), true);
    clock.advance(2 * MIN);
    assert.equal((await evaluateAlerts(c)).saved, true, 'older than 30 minutes: taken over');
    assert.equal(existsSync(lock), false, 'released');
  });

  it('storage: the repository disk over 95 % is critical, over 90 % high (the same alert, raised again), under 80 % resolved', async () => {
    const out = join(sb.root, 'got.jsonl');
    const c = ctx({ command: `cat >> '${out}'` });
    await createBackup(c, { type: 'full' });
    const fill = (percent: number) => {
      const st = statfsSync(sb.repo);
      const used = (st.blocks - st.bavail) * st.bsize;
      const extra = Math.max(0, Math.ceil((percent / 100) * st.blocks * st.bsize - used));
      writeFileSync(join(sb.repo, `filler-${percent}`), Buffer.alloc(extra));
    };
    fill(96);
    const crit = await evaluateAlerts(c);
    assert.deepEqual(crit.raised, ['storage']);
    assert.equal(crit.active[0]!.severity, 'critical');
    assert.match(crit.active[0]!.message, /The backup disk is 9[6-9]\.\d% used \(over 95%\)/);
    rmSync(join(sb.repo, 'filler-96'));
    fill(92);
    const high = await evaluateAlerts(c);
    assert.deepEqual([high.raised, high.active[0]!.severity, high.active[0]!.rule], [['storage'], 'high', 'storage_over_90']);
    rmSync(join(sb.repo, 'filler-92'));
    const ok = await evaluateAlerts(c);
    assert.deepEqual(ok.resolved_now, ['storage']);
    const sent = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { notification: string; alert: { severity: string } });
    assert.deepEqual(
      sent.map((x) => [x.notification, x.alert.severity]),
      [
        ['raised', 'critical'],
        ['raised', 'high'],
        ['resolved', 'high'],
      ],
    );
  });
});
