import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { alertSource } from '../daemon/alert-source.js';
import { ServiceMetrics } from '../daemon/metrics.js';
import { appContext, prismAsync, sandbox, type Sandbox } from '../testing/fixtures.js';
import { HttpRecorder } from '../testing/http-recorder.js';
import { parseMetrics } from '../testing/prometheus.js';

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = prismAsync(args, env);
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

interface NotifyOut {
  active: Array<{ key: string; pending: { targets: string[]; attempts: number; last_error: string | null } | null }>;
  deliveries: Array<{ key: string; kind: string; target: string; ok: boolean; error?: string }>;
  error?: { code: string };
}
interface StatusOut {
  alert_deliveries: { pending: number; failed: number; by_receiver: Record<string, { pending: number; failed: number }> };
}

/**
 * `prism alerts --notify` through the real CLI with two chat receivers played by HTTP servers on
 * loopback: Slack answers, ntfy answers 503 (then recovers). The failed delivery is kept pending
 * and shown by `prism status` and the metrics; the next run delivers it once, and nothing twice.
 */
describe('prism alerts --notify (CLI): a failing receiver stays pending and is delivered once later', () => {
  let sb: Sandbox;
  const slack = new HttpRecorder();
  const ntfy = new HttpRecorder();
  before(async () => {
    sb = sandbox();
    await slack.start();
    await ntfy.start();
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: {
          alerts: {
            webhook_retries: 1,
            webhook_timeout_ms: 2000,
            receivers: [
              { name: 'ops', kind: 'slack', url: `${slack.url}/services/T000/B000/secretpart` },
              { name: 'phone', kind: 'ntfy', url: `${ntfy.url}/prism-alerts` },
            ],
          },
        },
      }),
    );
  });
  after(async () => {
    await slack.stop();
    await ntfy.stop();
    sb.cleanup();
  });
  const metrics = async () => parseMetrics(await new ServiceMetrics({ ctx: appContext(sb), alerts: alertSource, nextRuns: () => [] }).render());
  const deliveryEvents = () =>
    readFileSync(join(sb.home, 'logs', 'events.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; receiver?: string; ok?: boolean; keys?: string[]; attempts?: number })
      .filter((e) => e.event === 'alert.delivery');

  it('Slack gets its message once; ntfy (503, retried once) stays pending; the next --notify delivers it exactly once', async () => {
    // no backup yet: no_recent_success is raised; ntfy answers 503 to the first try and to its retry
    ntfy.plan = [503, 503];
    const first = await run(['alerts', '--notify', '--json'], sb.env);
    // a delivery failed: exit 21 (ERR_PRISM_ALERT_DELIVERY), the report says which
    assert.equal(first.code, 21, first.stderr);
    const r1 = JSON.parse(first.stdout) as NotifyOut;
    assert.equal(r1.error?.code, 'ERR_PRISM_ALERT_DELIVERY');
    const key = r1.active[0]!.key;
    assert.equal(key, 'no_recent_success');
    assert.deepEqual(
      r1.deliveries.map((d) => [d.key, d.kind, d.target, d.ok]),
      [
        [key, 'raised', 'ops', true],
        [key, 'raised', 'phone', false],
      ],
    );
    assert.match(r1.deliveries[1]!.error!, /HTTP 503/);
    assert.deepEqual(r1.active[0]!.pending && [r1.active[0]!.pending.targets, r1.active[0]!.pending.attempts], [['phone'], 1]);
    assert.equal(slack.requests.length, 1);
    assert.equal(slack.requests[0]!.path, '/services/T000/B000/secretpart');
    assert.match(JSON.stringify(slack.json(0)), /no_recent_success/);
    assert.equal(ntfy.requests.length, 2, 'the first try and one retry');
    // no token of the URL in what the operator reads
    assert.ok(!(first.stdout + first.stderr).includes('secretpart'));

    // pending and failed: in prism status and in the metrics
    const s1 = JSON.parse((await run(['status', '--json'], sb.env)).stdout) as StatusOut;
    assert.deepEqual(s1.alert_deliveries, { pending: 1, failed: 1, by_receiver: { phone: { pending: 1, failed: 1 } } });
    assert.match((await run(['status'], sb.env)).stdout, /Alert deliveries pending: 1, failed so far: 1 \(phone 1 \(1 failed\)\)/);
    const m1 = await metrics();
    assert.equal(m1.get('prism_alert_deliveries_pending{receiver="phone"}'), 1);
    assert.equal(m1.get('prism_alert_deliveries_failed{receiver="phone"}'), 1);
    assert.equal(m1.get('prism_alert_deliveries_pending{receiver="ops"}') ?? 0, 0);

    // ntfy recovers: the next run delivers the waiting notification to it, and to it only
    const second = await run(['alerts', '--notify', '--json'], sb.env);
    assert.equal(second.code, 0, second.stderr);
    const r2 = JSON.parse(second.stdout) as NotifyOut;
    assert.deepEqual(
      r2.deliveries.map((d) => [d.key, d.kind, d.target, d.ok]),
      [[key, 'raised', 'phone', true]],
    );
    assert.equal(r2.active[0]!.pending, null);
    assert.equal(slack.requests.length, 1, 'nothing twice to Slack');
    assert.equal(ntfy.requests.length, 3);
    const published = ntfy.json(2) as { topic: string; title: string; message: string };
    assert.equal(published.topic, 'prism-alerts');
    assert.match(published.message, /no_recent_success/);
    assert.equal(ntfy.requests[2]!.path, '/');

    // a third run within the repeat interval sends nothing to anyone
    const third = JSON.parse((await run(['alerts', '--notify', '--json'], sb.env)).stdout) as NotifyOut;
    assert.deepEqual(third.deliveries, []);
    assert.deepEqual([slack.requests.length, ntfy.requests.length], [1, 3]);

    const s2 = JSON.parse((await run(['status', '--json'], sb.env)).stdout) as StatusOut;
    assert.deepEqual(s2.alert_deliveries, { pending: 0, failed: 0, by_receiver: {} });
    const m2 = await metrics();
    assert.equal(m2.get('prism_alert_deliveries_pending{receiver="phone"}') ?? 0, 0);
    // one line per delivery in the events log
    assert.deepEqual(
      deliveryEvents().map((e) => [e.receiver, e.ok, e.attempts, e.keys]),
      [
        ['ops', true, 1, [key]],
        ['phone', false, 2, [key]],
        ['phone', true, 1, [key]],
      ],
    );
  });
});
