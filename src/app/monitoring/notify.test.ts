import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FixedClock } from '../../core/clock.js';
import { tempRootForFile } from '../../testing/fixtures.js';
import { WebhookServer } from '../../testing/webhook-server.js';
import type { Alert } from './alert-state.js';
import { alertPayload, postWebhook, runAlertCommand } from './notify.js';

export function sampleAlert(over: Partial<Alert> = {}): Alert {
  return {
    key: 'storage',
    severity: 'critical',
    rule: 'storage_over_95',
    message: 'The backup disk is 96.0% used (over 95%).',
    fix: 'Free space.',
    details: { used_percent: 96 },
    state: 'active',
    raised_at: '2026-02-08T12:00:00.000Z',
    last_seen_at: '2026-02-08T12:00:00.000Z',
    resolved_at: null,
    notified_at: null,
    notifications: 0,
    pending: null,
    ...over,
  };
}

describe('alert delivery: webhook and command', () => {
  const root = tempRootForFile();
  const server = new WebhookServer();
  before(() => server.start());
  after(() => server.stop());
  const T0 = new Date('2026-02-08T12:00:00Z');
  const payload = alertPayload(sampleAlert(), 'raised', '/srv/prism-home', T0);
  /** How long the clock was slept on since T0 (the backoff between attempts). */
  const slept = (clock: FixedClock): number => clock.now().getTime() - T0.getTime();

  it('POSTs the alert as JSON', async () => {
    server.bodies.length = 0;
    const clock = new FixedClock(T0);
    const r = await postWebhook(server.url, payload, 2000, 3, clock);
    assert.deepEqual(r, { ok: true, attempts: 1 });
    assert.equal(slept(clock), 0, 'no backoff before the first attempt');
    assert.equal(server.bodies.length, 1);
    const got = server.bodies[0] as { method: string; type: string; json: typeof payload };
    assert.equal(got.method, 'POST');
    assert.equal(got.type, 'application/json');
    assert.equal(got.json.notification, 'raised');
    assert.deepEqual(got.json.alert.key, 'storage');
    assert.equal(got.json.alert.severity, 'critical');
    assert.equal(got.json.home, '/srv/prism-home');
  });

  it('retries 500 and 429 with backoff and succeeds on the third attempt', async () => {
    server.bodies.length = 0;
    server.plan = [500, 429];
    const clock = new FixedClock(T0);
    assert.deepEqual(await postWebhook(server.url, payload, 2000, 3, clock), { ok: true, attempts: 3 });
    assert.equal(server.bodies.length, 3, 'the same alert POSTed three times');
    assert.equal(slept(clock), 250 + 500, 'the backoff doubles, on the clock');
  });

  it('gives up after the configured retries, and does not retry a 404', async () => {
    server.bodies.length = 0;
    server.plan = [503, 503, 503];
    const clock = new FixedClock(T0);
    const r = await postWebhook(server.url, payload, 2000, 2, clock);
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /HTTP 503 .*after 3 attempts/);
    assert.equal(server.bodies.length, 3);
    server.bodies.length = 0;
    server.plan = [404];
    assert.equal(slept(clock), 250 + 500);
    const nf = await postWebhook(server.url, payload, 2000, 5, clock);
    assert.deepEqual([nf.ok, nf.attempts], [false, 1]);
    assert.match((nf as { error: string }).error, /HTTP 404/);
    assert.equal(server.bodies.length, 1, '4xx other than 429 is final');
    assert.equal(slept(clock), 250 + 500, 'and is not waited after');
  });

  it('a closed port is a network error, retried and reported', async () => {
    const closed = new WebhookServer();
    await closed.start();
    await closed.stop();
    const clock = new FixedClock(T0);
    const r = await postWebhook(closed.url, payload, 2000, 1, clock);
    assert.deepEqual([r.ok, r.attempts], [false, 2]);
    assert.match((r as { error: string }).error, /ECONNREFUSED/);
    assert.equal(slept(clock), 250);
  });

  it('runs the command through /bin/sh with the JSON on stdin and PRISM_ALERT_* set', async () => {
    const file = join(root(), 'alert.json');
    const envFile = join(root(), 'alert.env');
    const cmd = `cat > '${file}'; printf '%s|%s|%s|%s' "$PRISM_ALERT_SEVERITY" "$PRISM_ALERT_KEY" "$PRISM_ALERT_STATE" "$PRISM_ALERT_MESSAGE" > '${envFile}'`;
    assert.deepEqual(await runAlertCommand(cmd, payload), { ok: true, attempts: 1 });
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), payload);
    assert.equal(readFileSync(envFile, 'utf8'), 'critical|storage|active|The backup disk is 96.0% used (over 95%).');
  });

  it('a command that fails is a failed delivery with its exit code and stderr; one that ignores stdin is fine', async () => {
    const r = await runAlertCommand('echo "pager unreachable" >&2; exit 3', payload);
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /exited 3: pager unreachable/);
    assert.deepEqual(await runAlertCommand('true', payload), { ok: true, attempts: 1 });
    const missing = await runAlertCommand('/nonexistent/pager --send', payload);
    assert.match((missing as { error: string }).error, /exited 127/);
  });
});
