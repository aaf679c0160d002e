import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as v from 'valibot';
import { alertsSchema, type AlertsConfig } from '../../../config/schema.js';
import { FixedClock } from '../../../core/clock.js';
import { tempRootForFile } from '../../../testing/fixtures.js';
import { HttpRecorder } from '../../../testing/http-recorder.js';
import { selfSignedCert, TestSmtpServer } from '../../../testing/smtp-server.js';
import { configuredReceivers, deliverToReceiver, notifyReceiver, pingHealthchecks, receiverMessage, type AlertSummary, type Receiver } from './index.js';

const T0 = new Date('2026-02-08T12:00:00Z');
const alert: AlertSummary = {
  key: 'backup.failed',
  severity: 'critical',
  rule: 'backup_failed',
  message: 'The last backup failed: the disk is full.',
  fix: 'Free space on /srv/backups, then run `prism backup full`.',
  details: { backup_id: '20260208T020000Z-full-ab12cd', code: 'ERR_PRISM_NO_SPACE' },
  state: 'active',
  raised_at: T0.toISOString(),
  resolved_at: null,
};
const SECRET_PASSWORD = 'pa55-Wörd-never-shown';
const SECRET_TOKEN = 'T0KEN-abcdef123456';
const denv = (home: string, retries = 2) => ({ home, timeoutMs: 1500, retries });
const msg = () => receiverMessage([alert], 'raised', '/srv/prism', T0);

describe('receivers: e-mail through a real SMTP server with STARTTLS and AUTH', () => {
  const root = tempRootForFile();
  const tls = selfSignedCert();
  const smtp = new TestSmtpServer({ key: tls.key, cert: tls.cert, user: 'prism', password: SECRET_PASSWORD });
  const refusing = new TestSmtpServer({ key: tls.key, cert: tls.cert, user: 'prism', password: SECRET_PASSWORD, refuseAuth: true });
  before(async () => {
    await smtp.start();
    await refusing.start();
  });
  after(async () => {
    await smtp.stop();
    await refusing.stop();
    tls.cleanup();
  });
  const email = (port: number, over: Partial<Receiver> = {}): Receiver =>
    ({
      name: 'oncall',
      kind: 'email',
      host: '127.0.0.1',
      port,
      secure: false,
      starttls: true,
      ca_file: tls.certFile,
      user: 'prism',
      password_env: 'PRISM_TEST_SMTP_PW',
      from: 'prism@example.com',
      to: ['lead@example.com', 'pm@example.com'],
      ...over,
    }) as Receiver;

  it('sends over STARTTLS with the password from the environment; the mail has the subject, severity, fix and backup id', async () => {
    const r = await deliverToReceiver(email(smtp.port), msg(), new FixedClock(T0), { ...denv(root()), env: { PRISM_TEST_SMTP_PW: SECRET_PASSWORD } });
    assert.deepEqual(r, { ok: true, attempts: 1 });
    const mail = smtp.mails.at(-1)!;
    assert.match(mail.subject!, /CRITICAL raised: The last backup failed: the disk is full\./);
    assert.equal(mail.headers.get('x-prism-severity'), 'critical');
    assert.deepEqual(
      (Array.isArray(mail.to) ? mail.to : [mail.to!]).flatMap((a) => a.value.map((x) => x.address)),
      ['lead@example.com', 'pm@example.com'],
    );
    assert.match(mail.text!, /Fix: Free space on \/srv\/backups, then run `prism backup full`\./);
    assert.match(mail.text!, /backup_id: 20260208T020000Z-full-ab12cd/);
  });

  it('reads the password from password_file too', async () => {
    const file = join(root(), 'smtp-password');
    writeFileSync(file, `${SECRET_PASSWORD}\n`);
    const before = smtp.mails.length;
    const r = await deliverToReceiver(email(smtp.port, { password_env: undefined, password_file: file } as never), msg(), new FixedClock(T0), denv(root()));
    assert.equal(r.ok, true);
    assert.equal(smtp.mails.length, before + 1);
  });

  it('a refused login is final (not retried), says "authentication", and never shows the password', async () => {
    const r = await deliverToReceiver(email(refusing.port), msg(), new FixedClock(T0), { ...denv(root(), 3), env: { PRISM_TEST_SMTP_PW: SECRET_PASSWORD } });
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 1);
    assert.match((r as { error: string }).error, /email oncall \(127\.0\.0\.1\): EAUTH authentication refused/);
    assert.ok(!JSON.stringify(r).includes(SECRET_PASSWORD));
    assert.equal(refusing.mails.length, 0);
  });

  it('a server whose certificate is not trusted is a TLS error', async () => {
    const r = await deliverToReceiver(email(smtp.port, { ca_file: undefined } as never), msg(), new FixedClock(T0), {
      ...denv(root()),
      env: { PRISM_TEST_SMTP_PW: SECRET_PASSWORD },
    });
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /TLS|certificate/i);
  });

  it('a refused connection is retried with backoff, then reported', async () => {
    const port = await closedPort();
    const clock = new FixedClock(T0);
    const r = await deliverToReceiver(email(port), msg(), clock, { ...denv(root(), 2), env: { PRISM_TEST_SMTP_PW: SECRET_PASSWORD } });
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 3);
    assert.match((r as { error: string }).error, /connection refused.*after 3 attempts/);
    assert.equal(clock.now().getTime() - T0.getTime(), 250 + 500);
  });

  it('a missing password variable is named, not guessed', async () => {
    const r = await deliverToReceiver(email(smtp.port), msg(), new FixedClock(T0), { ...denv(root()), env: {} });
    assert.equal(r.ok, false);
    assert.match((r as { error: string }).error, /receiver oncall: password_env names PRISM_TEST_SMTP_PW, which is not set/);
  });
});

describe('receivers: chat services, ntfy and Healthchecks over real HTTP', () => {
  const root = tempRootForFile();
  const http = new HttpRecorder();
  before(() => http.start());
  after(() => http.stop());
  const last = () => http.requests.at(-1)!;

  it('Slack: fallback text and an attachment with the severity colour, the fix and the backup id', async () => {
    const r = await deliverToReceiver(
      { name: 'ops', kind: 'slack', url: `${http.url}/services/T00/B00/${SECRET_TOKEN}` },
      msg(),
      new FixedClock(T0),
      denv(root()),
    );
    assert.deepEqual(r, { ok: true, attempts: 1 });
    assert.equal(last().path, `/services/T00/B00/${SECRET_TOKEN}`);
    assert.equal(last().headers['content-type'], 'application/json');
    const body = JSON.parse(last().body) as {
      text: string;
      attachments: { color: string; title: string; text: string; fields: { title: string; value: string }[]; ts: number }[];
    };
    assert.match(body.text, /CRITICAL raised/);
    assert.equal(body.attachments.length, 1);
    const a = body.attachments[0]!;
    assert.equal(a.color, '#D32F2F');
    assert.equal(a.title, 'CRITICAL backup.failed');
    assert.equal(a.text, alert.message);
    assert.deepEqual(a.fields[0], { title: 'Fix', value: alert.fix, short: false });
    assert.ok(a.fields.some((f) => f.title === 'backup_id' && f.value === '20260208T020000Z-full-ab12cd'));
    assert.equal(a.ts, T0.getTime() / 1000);
  });

  it('Teams: an Adaptive Card message with a fact set (severity, key, fix)', async () => {
    await deliverToReceiver({ name: 'teams', kind: 'teams', url: `${http.url}/workflows/x` }, msg(), new FixedClock(T0), denv(root()));
    const body = JSON.parse(last().body) as {
      type: string;
      attachments: {
        contentType: string;
        content: { type: string; version: string; body: { type: string; items?: { type: string; facts?: { title: string; value: string }[] }[] }[] };
      }[];
    };
    assert.equal(body.type, 'message');
    assert.equal(body.attachments[0]!.contentType, 'application/vnd.microsoft.card.adaptive');
    const card = body.attachments[0]!.content;
    assert.equal(card.type, 'AdaptiveCard');
    assert.equal(card.version, '1.4');
    const facts = card.body[1]!.items!.find((i) => i.type === 'FactSet')!.facts!;
    assert.deepEqual(facts.slice(0, 3), [
      { title: 'Severity', value: 'critical' },
      { title: 'Key', value: 'backup.failed' },
      { title: 'Fix', value: alert.fix },
    ]);
  });

  it('Discord: an embed with an integer colour, the fix as a field and a timestamp', async () => {
    await deliverToReceiver(
      { name: 'dc', kind: 'discord', url: `${http.url}/api/webhooks/1/${SECRET_TOKEN}` },
      receiverMessage([{ ...alert, state: 'resolved' }], 'resolved', '/srv/prism', T0),
      new FixedClock(T0),
      denv(root()),
    );
    const body = JSON.parse(last().body) as {
      username: string;
      embeds: { title: string; description: string; color: number; fields: { name: string; value: string }[]; timestamp: string }[];
    };
    assert.equal(body.username, 'prism');
    assert.equal(body.embeds[0]!.color, 0x2e7d32);
    assert.equal(body.embeds[0]!.description, alert.message);
    assert.deepEqual(body.embeds[0]!.fields[0], { name: 'Fix', value: alert.fix, inline: false });
    assert.equal(body.embeds[0]!.timestamp, T0.toISOString());
  });

  it('ntfy: JSON published to the server root with topic, title, priority 5 for critical, tags, and the token from a file', async () => {
    const tokenFile = join(root(), 'ntfy-token');
    writeFileSync(tokenFile, SECRET_TOKEN);
    await deliverToReceiver({ name: 'phone', kind: 'ntfy', url: `${http.url}/prism-backups`, token_file: tokenFile }, msg(), new FixedClock(T0), denv(root()));
    assert.equal(last().path, '/');
    assert.equal(last().headers.authorization, `Bearer ${SECRET_TOKEN}`);
    const body = JSON.parse(last().body) as { topic: string; title: string; message: string; priority: number; tags: string[] };
    assert.equal(body.topic, 'prism-backups');
    assert.equal(body.priority, 5);
    assert.deepEqual(body.tags, ['rotating_light', 'prism', 'critical']);
    assert.match(body.message, /Fix: Free space/);
  });

  it('Healthchecks: start, success and fail pings of a job', async () => {
    const url = `${http.url}/ping/${SECRET_TOKEN}`;
    for (const s of ['start', 'success', 'fail'] as const) {
      assert.deepEqual(await pingHealthchecks(url, s, `full_backup ${s}`, { name: 'hc', timeoutMs: 1000, retries: 0 }, new FixedClock(T0)), {
        ok: true,
        attempts: 1,
      });
    }
    assert.deepEqual(
      http.requests.slice(-3).map((r) => [r.method, r.path, r.body]),
      [
        ['POST', `/ping/${SECRET_TOKEN}/start`, 'full_backup start'],
        ['POST', `/ping/${SECRET_TOKEN}`, 'full_backup success'],
        ['POST', `/ping/${SECRET_TOKEN}/fail`, 'full_backup fail'],
      ],
    );
  });

  it('an HTTP 401 is final and names the receiver and host, never the token in the path', async () => {
    http.plan = [401];
    const r = await deliverToReceiver({ name: 'ops', kind: 'slack', url: `${http.url}/services/${SECRET_TOKEN}` }, msg(), new FixedClock(T0), denv(root(), 3));
    assert.equal(r.ok, false);
    assert.equal(r.attempts, 1);
    assert.equal((r as { error: string }).error, `slack ops (${http.url}/…): HTTP 401 Unauthorized`);
    assert.ok(!JSON.stringify(r).includes(SECRET_TOKEN));
  });

  it('a 503 is retried and then delivered; a hanging server is a timeout', async () => {
    http.plan = [503];
    const r = await deliverToReceiver({ name: 'dc', kind: 'discord', url: `${http.url}/d` }, msg(), new FixedClock(T0), denv(root(), 2));
    assert.deepEqual(r, { ok: true, attempts: 2 });
    http.hang = true;
    try {
      const t = await deliverToReceiver({ name: 'dc', kind: 'discord', url: `${http.url}/d` }, msg(), new FixedClock(T0), {
        home: root(),
        timeoutMs: 300,
        retries: 0,
      });
      assert.equal(t.ok, false);
      assert.match((t as { error: string }).error, /no answer within 300 ms/);
    } finally {
      http.hang = false;
    }
  });

  it('notifyReceiver delivers a group of alerts as one message to the receiver named', async () => {
    const cfg = v.parse(alertsSchema, { receivers: [{ name: 'ops', kind: 'slack', url: `${http.url}/g` }] }) as AlertsConfig;
    const n = http.requests.length;
    const second = { ...alert, key: 'storage', severity: 'high' as const, message: 'The backup disk is 91% used.' };
    const r = await notifyReceiver(cfg, 'ops', [alert, second], 'raised', { home: root(), now: T0, clock: new FixedClock(T0) });
    assert.deepEqual(r, { ok: true, attempts: 1 });
    assert.equal(http.requests.length, n + 1);
    assert.equal((JSON.parse(last().body) as { attachments: unknown[] }).attachments.length, 2);
    assert.match(
      ((await notifyReceiver(cfg, 'nobody', [alert], 'raised', { home: root(), now: T0, clock: new FixedClock(T0) })) as { error: string }).error,
      /no receiver named nobody/,
    );
  });
});

describe('receivers: configuration', () => {
  const parse = (alerts: unknown) => v.safeParse(alertsSchema, alerts);
  const issue = (alerts: unknown) => {
    const r = parse(alerts);
    assert.equal(r.success, false);
    const i = r.issues![0];
    return { key: (i.path ?? []).map((p) => String(p.key)).join('.'), message: i.message };
  };
  it('webhook_url and command stay the receivers "webhook" and "command", before the named ones', () => {
    const r = parse({ webhook_url: 'http://127.0.0.1:1/h', command: 'true', receivers: [{ name: 'ops', kind: 'slack', url_env: 'SLACK_URL' }] });
    assert.ok(r.success);
    assert.deepEqual(
      configuredReceivers(r.output).map((x) => `${x.name}:${x.kind}`),
      ['webhook:webhook', 'command:command', 'ops:slack'],
    );
  });
  it('refuses an invalid e-mail address, an unknown kind, duplicate names, missing fields, naming the key', () => {
    const base = { name: 'm', kind: 'email', host: 'smtp.example.com', from: 'prism@example.com', to: ['ops@example.com'] };
    assert.ok(parse({ receivers: [base] }).success);
    assert.deepEqual(issue({ receivers: [{ ...base, to: ['not an address'] }] }).key, 'receivers.0.to.0');
    assert.deepEqual(issue({ receivers: [{ ...base, from: 'prism@' }] }).key, 'receivers.0.from');
    assert.match(issue({ receivers: [{ name: 'x', kind: 'pager' }] }).message, /one of the kinds email, slack/);
    assert.match(issue({ receivers: [base, { ...base }] }).message, /a name of its own/);
    assert.equal(issue({ receivers: [{ name: 'x', kind: 'slack' }] }).key, 'receivers.0.url');
    assert.equal(issue({ receivers: [{ name: 'x', kind: 'slack', url: 'http://a/b', url_env: 'X' }] }).key, 'receivers.0.url');
    assert.equal(issue({ receivers: [{ ...base, host: undefined }] }).key, 'receivers.0.host');
    assert.equal(issue({ receivers: [{ ...base, password_env: 'PW' }] }).key, 'receivers.0.user');
    assert.equal(issue({ webhook_url: 'http://a/b', receivers: [{ name: 'webhook', kind: 'command', command: 'true' }] }).key, 'receivers');
  });
});

async function closedPort(): Promise<number> {
  const s: Server = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
