import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { json, prism, prismAsync, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';
import { WebhookServer } from '../testing/webhook-server.js';

interface Health {
  healthy: boolean;
  indicators: Array<{ name: string; ok: boolean; value: number | null; message: string }>;
  alerts: Array<{ key: string; severity: string }>;
}
interface AlertsOut {
  saved: boolean;
  active: Array<{ key: string; severity: string; pending: { last_error: string } | null }>;
  resolved?: Array<{ key: string; state: string }>;
  deliveries: Array<{ target: string; ok: boolean }>;
  error?: { code: string };
}

function run(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = prismAsync(args, env);
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

describe('prism backup health / prism alerts (CLI)', () => {
  let sb: Sandbox;
  const config = (alerts: Record<string, unknown>) => writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { alerts } }));
  // the repository on its own tmpfs, so that its disk use is known
  before(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 6, seed: 3 });
    mkdirSync(sb.repo);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=32m', 'tmpfs', sb.repo]);
  });
  after(() => {
    execFileSync('umount', [sb.repo]);
    sb.cleanup();
  });

  it('rejects wrong flags with ERR_PRISM_ARGS (exit 2)', () => {
    for (const args of [
      ['backup', 'health', '--bogus'],
      ['alerts', '--bogus'],
      ['alerts', 'extra'],
      ['backup', 'health', '--all'],
    ]) {
      const r = prism(args, sb.env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /ERR_PRISM_ARGS/);
    }
    const j = prism(['alerts', '--bogus', '--json'], sb.env);
    assert.equal(json<{ error: { code: string } }>(j).error.code, 'ERR_PRISM_ARGS');
  });

  it('no repository yet: unhealthy (exit 1), a critical alert, and no repository created', () => {
    const r = prism(['backup', 'health'], sb.env);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /^Backup health: UNHEALTHY$/m);
    assert.match(r.stdout, /\[FAIL\] Successful backup in the last 24 h: no successful backup yet/);
    assert.match(r.stdout, /\[OK\] Failure rate under 1% \(30 days\): 0 of 0 attempts/);
    assert.match(r.stdout, /\[OK\] Storage use under 80%: backup disk 0\.\d% used/);
    assert.match(r.stdout, /CRITICAL\s+no_recent_success/);
    const h = json<Health>(prism(['backup', 'health', '--json'], sb.env));
    assert.deepEqual(
      h.indicators.map((i) => [i.name, i.ok]),
      [
        ['recent_success', false],
        ['failure_rate', true],
        ['storage', true],
      ],
    );
    assert.deepEqual(
      h.alerts.map((a) => [a.key, a.severity]),
      [['no_recent_success', 'critical']],
    );
    assert.equal(existsSync(join(sb.repo, 'config')), false, 'no repository is created');
  });

  it('a PRISM_HOME that does not exist is not created', () => {
    const env = { ...sb.env, PRISM_HOME: join(sb.root, 'typo-home') };
    const r = prism(['alerts', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json<AlertsOut>(r).saved, false);
    assert.equal(prism(['backup', 'health'], env).code, 1);
    assert.equal(existsSync(join(sb.root, 'typo-home')), false);
  });

  it('a bad webhook URL (or other alerts key) is ERR_PRISM_CONFIG (exit 3) naming the key', () => {
    for (const [alerts, key] of [
      [{ webhook_url: 'ftp://example.invalid/x' }, 'webhook_url'],
      [{ webhook_url: 'not a url' }, 'webhook_url'],
      [{ repeat_interval_minutes: 0 }, 'repeat_interval_minutes'],
      [{ bogus: 1 }, 'bogus'],
    ] as const) {
      config(alerts);
      for (const args of [['alerts'], ['backup', 'health']]) {
        const r = prism(args, sb.env);
        assert.equal(r.code, 3, `${JSON.stringify(alerts)}: ${r.stderr}`);
        assert.match(r.stderr, new RegExp(`ERR_PRISM_CONFIG.*backup\\.alerts\\.${key}`));
      }
    }
    config({ webhook_url: 'not a url' });
    assert.equal(json<{ error: { code: string } }>(prism(['alerts', '--json'], sb.env)).error.code, 'ERR_PRISM_CONFIG');
    rmSync(join(sb.home, 'config', 'backup.json'));
  });

  it('after a backup: healthy (exit 0), and the alert resolved (--all lists it)', () => {
    assert.equal(prism(['backup', 'create', '--type', 'full'], sb.env).code, 0);
    const r = prism(['backup', 'health'], sb.env);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^Backup health: HEALTHY$/m);
    assert.match(r.stdout, /^Active alerts: none$/m);
    const a = json<AlertsOut>(prism(['alerts', '--all', '--json'], sb.env));
    assert.deepEqual(a.active, []);
    assert.deepEqual(
      a.resolved!.map((x) => [x.key, x.state]),
      [['no_recent_success', 'resolved']],
    );
    assert.match(prism(['alerts'], sb.env).stdout, /^No active alerts\.$/m);
    assert.match(prism(['alerts', '--all'], sb.env).stdout, /Recently resolved:\nSEVERITY\s+KEY\s+RESOLVED\s+MESSAGE\nCRITICAL\s+no_recent_success/);
  });

  it('a failed backup: `prism alerts` shows it without sending; --notify delivers; a dead webhook exits 21', async () => {
    rmSync(join(sb.home, 'level-2-warm'), { recursive: true });
    assert.equal(prism(['backup', 'create', '--type', 'full'], sb.env).code, 13);
    mkdirSync(join(sb.home, 'level-2-warm'));
    const out = join(sb.root, 'sent.jsonl');
    config({ command: `cat >> '${out}'` });
    const shown = prism(['alerts'], sb.env);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /HIGH\s+backup_failed:backup_\d{8}_\d{6}_full(?:_\d+)?\s.*failed \[ERR_BACKUP_003\]/);
    assert.equal(existsSync(out), false, 'nothing sent without --notify');
    const h = prism(['backup', 'health', '--json'], sb.env);
    assert.equal(h.code, 1, 'one failure in two attempts is over 1 %');
    assert.deepEqual(
      json<Health>(h).indicators.map((i) => i.ok),
      [true, false, true],
    );

    const sent = prism(['alerts', '--notify'], sb.env);
    assert.equal(sent.code, 0, sent.stderr);
    assert.match(sent.stdout, /1 notification\(s\) delivered\./);
    assert.equal(JSON.parse(readFileSync(out, 'utf8')).alert.severity, 'high');

    // a webhook that answers 500, then one that accepts (the CLI runs as a separate process: the server answers meanwhile)
    const server = new WebhookServer();
    await server.start();
    try {
      server.plan = [500, 500];
      config({ webhook_url: server.url, webhook_retries: 0 });
      rmSync(join(sb.home, 'level-2-warm'), { recursive: true });
      assert.equal(prism(['backup', 'create', '--type', 'full'], sb.env).code, 13);
      mkdirSync(join(sb.home, 'level-2-warm'));
      const bad = await run(['alerts', '--notify'], sb.env);
      assert.equal(bad.code, 21, bad.stdout + bad.stderr);
      assert.match(bad.stderr, /ERR_PRISM_ALERT_DELIVERY.*HTTP 500/);
      assert.match(bad.stdout, /raised notification not delivered yet: webhook .*HTTP 500/);
      const badJson = json<AlertsOut>(await run(['alerts', '--notify', '--json'], sb.env));
      assert.equal(badJson.error!.code, 'ERR_PRISM_ALERT_DELIVERY');
      const good = await run(['alerts', '--notify', '--json'], sb.env);
      assert.equal(good.code, 0, good.stdout);
      assert.ok(json<AlertsOut>(good).deliveries.every((d) => d.ok && d.target === 'webhook'));
      // the first failure's resolution goes to whom it was told (the command, no longer configured), not to the webhook
      assert.deepEqual(
        server.bodies.map((b) => (b as { json: { notification: string } }).json.notification),
        ['raised', 'raised', 'raised'],
      );
    } finally {
      await server.stop();
      rmSync(join(sb.home, 'config', 'backup.json'));
    }
  });

  it('a reader never sees a torn alerts.json while other processes rewrite it', async () => {
    const file = join(sb.home, 'state', 'alerts.json');
    let reads = 0;
    let done = false;
    const writers = (async () => {
      for (let i = 0; i < 4; i++) await Promise.all([run(['alerts'], sb.env), run(['backup', 'health'], sb.env)]);
      done = true;
    })();
    while (!done) {
      const text = readFileSync(file, 'utf8');
      assert.doesNotThrow(() => JSON.parse(text), 'a whole file');
      reads++;
      await new Promise((r) => setImmediate(r));
    }
    await writers;
    assert.ok(reads > 0);
    assert.equal(existsSync(join(sb.home, 'state', 'alerts.lock')), false, 'every writer released its lock');
  });
});
