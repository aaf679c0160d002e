import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { prismAsync, sandbox, type Sandbox } from '../testing/fixtures.js';
import { HttpRecorder } from '../testing/http-recorder.js';
import { selfSignedCert, TestSmtpServer } from '../testing/smtp-server.js';

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = prismAsync(args, env);
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

const PASSWORD = 'smtp-Secret-9f8e7d';
const TOKEN = 'discordTOKEN-0a1b2c3d';

interface TestOut {
  receivers: { receiver: string; kind: string; ok: boolean; attempts: number; error?: string }[];
  error?: { code: string };
}

describe('prism alerts test (CLI), real SMTP and HTTP servers on loopback', () => {
  let sb: Sandbox;
  const tls = selfSignedCert();
  const smtp = new TestSmtpServer({ key: tls.key, cert: tls.cert, user: 'prism', password: PASSWORD });
  const slack = new HttpRecorder();
  const discord = new HttpRecorder();
  let refusedPort = 0;
  const config = (alerts: Record<string, unknown>) => writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { alerts } }));
  before(async () => {
    sb = sandbox();
    await smtp.start();
    await slack.start();
    await discord.start();
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    refusedPort = (s.address() as AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    config({
      webhook_retries: 1,
      webhook_timeout_ms: 2000,
      receivers: [
        {
          name: 'lead',
          kind: 'email',
          host: '127.0.0.1',
          port: smtp.port,
          ca_file: tls.certFile,
          user: 'prism',
          password_env: 'PRISM_SMTP_PW',
          from: 'prism@example.com',
          to: ['lead@example.com'],
        },
        { name: 'ops', kind: 'slack', url: `${slack.url}/services/T/B/x` },
        { name: 'dc', kind: 'discord', url_env: 'PRISM_DISCORD_URL' },
        { name: 'pager', kind: 'webhook', url: `http://127.0.0.1:${refusedPort}/hook` },
      ],
    });
  });
  after(async () => {
    await smtp.stop();
    await slack.stop();
    await discord.stop();
    tls.cleanup();
    sb.cleanup();
  });
  const env = () => ({ ...sb.env, PRISM_SMTP_PW: PASSWORD, PRISM_DISCORD_URL: `${discord.url}/api/webhooks/1/${TOKEN}` });

  it('reports per receiver: delivered, HTTP 401, connection refused; the failures leave the others delivered; exit non-zero', async () => {
    discord.plan = [401];
    const r = await run(['alerts', 'test', '--json'], env());
    assert.notEqual(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as TestOut;
    assert.equal(out.error?.code, 'ERR_PRISM_ALERT_DELIVERY');
    const by = Object.fromEntries(out.receivers.map((x) => [x.receiver, x]));
    assert.equal(by.lead!.ok, true);
    assert.equal(by.ops!.ok, true);
    assert.equal(by.dc!.ok, false);
    assert.match(by.dc!.error!, /^discord dc \(http:\/\/127\.0\.0\.1:\d+\/…\): HTTP 401 Unauthorized$/);
    assert.equal(by.pager!.ok, false);
    assert.equal(by.pager!.attempts, 2);
    assert.match(by.pager!.error!, /connection refused \(ECONNREFUSED\) \(after 2 attempts\)/);
    assert.match(smtp.mails.at(-1)!.subject!, /test: Test notification from prism/);
    assert.equal(slack.requests.length, 1);
    // one events-log line per delivery; no secret anywhere
    const events = readFileSync(join(sb.home, 'logs', 'events.log'), 'utf8');
    const deliveries = events.split('\n').filter((l) => l.includes('"alert.delivery"'));
    assert.equal(deliveries.length, 4);
    for (const text of [r.stdout, r.stderr, events]) {
      assert.ok(!text.includes(PASSWORD), 'the SMTP password is never shown');
      assert.ok(!text.includes(TOKEN), 'the webhook token is never shown');
    }
  });

  it('--receiver tests one (exit 0 when it works); an unknown name is refused', async () => {
    const r = await run(['alerts', 'test', '--receiver', 'ops'], env());
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /ops\s+slack\s+delivered/);
    const bad = await run(['alerts', 'test', '--receiver', 'nobody', '--json'], env());
    assert.notEqual(bad.code, 0);
    assert.match(bad.stdout + bad.stderr, /No receiver is named nobody/);
  });

  it('a missing secret variable is the error of that receiver, named', async () => {
    const r = await run(['alerts', 'test', '--receiver', 'lead', '--json'], { ...sb.env, PRISM_DISCORD_URL: 'x' });
    const out = JSON.parse(r.stdout) as TestOut;
    assert.match(out.receivers[0]!.error!, /receiver lead: password_env names PRISM_SMTP_PW, which is not set/);
  });

  it('a bad receiver in backup.json is a config error naming the key, without quoting a URL (it may hold a token)', async () => {
    config({ receivers: [{ name: 'dc', kind: 'discord', url: `ftp://x/${TOKEN}` }] });
    try {
      const r = await run(['alerts', 'test'], sb.env);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /backup\.alerts\.receivers\.0\.url = \(value not shown\)/);
      assert.ok(!(r.stdout + r.stderr).includes(TOKEN));
      config({ receivers: [{ name: 'm', kind: 'email', host: 'h', from: 'prism@example.com', to: ['lead at example'] }] });
      const e = await run(['alerts', 'test'], sb.env);
      assert.match(e.stderr, /backup\.alerts\.receivers\.0\.to\.0 = "lead at example": an e-mail address/);
    } finally {
      config({});
    }
  });

  it('prism status shows pending and failed deliveries kept in state/alerts.json', async () => {
    mkdirSync(join(sb.home, 'state'), { recursive: true });
    const t = '2026-02-08T12:00:00.000Z';
    const alert = {
      key: 'storage',
      severity: 'critical',
      rule: 'storage_over_95',
      message: 'm',
      fix: 'f',
      details: {},
      state: 'active',
      raised_at: t,
      last_seen_at: t,
      resolved_at: null,
      notified_at: null,
      notifications: 0,
    };
    writeFileSync(
      join(sb.home, 'state', 'alerts.json'),
      JSON.stringify({
        version: 1,
        updated_at: t,
        active: [{ ...alert, pending: { kind: 'raised', since: t, targets: ['ops', 'lead'], attempts: 2, last_attempt_at: t, last_error: 'HTTP 503' } }],
        resolved: [],
      }),
    );
    const j = await run(['status', '--json'], sb.env);
    const s = JSON.parse(j.stdout) as {
      alert_deliveries: { pending: number; failed: number; by_receiver: Record<string, { pending: number; failed: number }> };
    };
    assert.deepEqual(s.alert_deliveries, { pending: 2, failed: 2, by_receiver: { ops: { pending: 1, failed: 1 }, lead: { pending: 1, failed: 1 } } });
    const h = await run(['status'], sb.env);
    assert.match(h.stdout, /Alert deliveries pending: 2, failed so far: 2 \(ops 1 \(1 failed\), lead 1 \(1 failed\)\)/);
  });
});
