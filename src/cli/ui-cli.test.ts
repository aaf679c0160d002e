import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { processAlive } from '../app/index.js';
import type { ServiceStatus, StartResult } from '../daemon/index.js';
import { checkPassword, dashboardTokenFile } from '../web/server/credentials.js';
import { dashboardRequest, eventStream, postLogin, progressWriterArgs, signIn } from '../testing/dashboard-http.js';
import { json, prism, prismAsync, PRISM_BIN, sandbox, waitFor, writeDataset, type Sandbox } from '../testing/fixtures.js';

const boxes: Sandbox[] = [];
const started: number[] = [];
after(() => {
  for (const pid of started) if (processAlive(pid)) process.kill(pid, 'SIGKILL');
  boxes.forEach((b) => b.cleanup());
});

function home(backup: Record<string, unknown> = {}): Sandbox {
  const sb = sandbox();
  boxes.push(sb);
  writeDataset(sb.home, { files: 5 });
  writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup }));
  return sb;
}

const token = (sb: Sandbox): string => readFileSync(dashboardTokenFile(sb.home), 'utf8').trim();

describe('prism ui', () => {
  it('--print-url prints the address with the token (created 0600 once, then kept) and serves nothing', () => {
    const sb = home();
    const r = prism(['ui', '--print-url'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^http:\/\/127\.0\.0\.1:9470\/#token=[A-Za-z0-9_-]{43}\n$/);
    assert.equal(r.stdout.trim().split('#token=')[1], token(sb));
    assert.equal((statSync(dashboardTokenFile(sb.home)).mode & 0o777).toString(8), '600');
    assert.equal(prism(['ui', '--print-url'], sb.env).stdout, r.stdout);
    const j = json<{ url: string; address: string; token_file: string }>(prism(['ui', '--print-url', '--listen', '[::1]:9999', '--json'], sb.env));
    assert.equal(j.url, `http://[::1]:9999/#token=${token(sb)}`);
    assert.equal(j.token_file, dashboardTokenFile(sb.home));
  });

  it('refuses a network address without TLS (ERR_PRISM_DASHBOARD) unless --insecure; a dashboard turned off is said so', () => {
    const sb = home();
    const r = prism(['ui', '--listen', '0.0.0.0:9470', '--print-url'], sb.env);
    assert.equal(r.code, 59, r.stderr);
    assert.match(r.stderr, /ERR_PRISM_DASHBOARD.*0\.0\.0\.0:9470.*tls_cert/s);
    assert.equal(prism(['ui', '--listen', '0.0.0.0:9470', '--insecure', '--print-url'], sb.env).code, 0);
    const bad = prism(['ui', '--listen', 'nowhere', '--print-url'], sb.env);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /backup\.dashboard\.listen = "nowhere"/);
    const off = home({ dashboard: { listen: '' } });
    const o = prism(['ui', '--print-url'], off.env);
    assert.notEqual(o.code, 0);
    assert.match(o.stderr, /dashboard is off/);
  });

  it('--hash-password reads the password from stdin and prints a hash that checks', async () => {
    const sb = home();
    const r = spawnSync(process.execPath, [PRISM_BIN, 'ui', '--hash-password'], {
      env: { ...process.env, ...sb.env },
      input: 'pässword 1\n',
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const hash = r.stdout.trim();
    assert.match(hash, /^scrypt\$15\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    assert.equal(await checkPassword('pässword 1', hash), true);
    assert.equal(await checkPassword('pässword', hash), false);
    // the config accepts it, and the dashboard logs in with it
    const withHash = home({ dashboard: { password_hash: hash } });
    assert.equal(prism(['ui', '--print-url'], withHash.env).code, 0);
    const broken = home({ dashboard: { password_hash: 'plaintext' } });
    const b = prism(['ui', '--print-url'], broken.env);
    assert.equal(b.code, 3);
    assert.match(b.stderr, /backup\.dashboard\.password_hash/);
  });

  it('serves in the foreground until Ctrl-C: refused without the token, logged in with it', async () => {
    const sb = home();
    const child = prismAsync(['ui', '--listen', '127.0.0.1:0', '--json'], sb.env);
    started.push(child.pid!);
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    const line = await waitFor('the dashboard address', () => stdout.includes('\n') && stdout.split('\n')[0], 30_000);
    const info = JSON.parse(line) as { address: string; url: string; login_url: string };
    assert.match(info.address, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(info.address, '127.0.0.1:0');
    assert.equal(info.login_url, `${info.url}#token=${token(sb)}`);
    const refused = await dashboardRequest(info.url, { path: '/api/session' });
    assert.equal(refused.status, 401);
    const { cookie, csrf, setCookie } = await signIn(info.url, { token: token(sb) });
    assert.match(setCookie, /prism_session=.*HttpOnly.*SameSite=Strict/);
    // over the socket too: a cookie POST without its CSRF token, a malformed and an oversized body
    const logout = (headers: Record<string, string>) =>
      dashboardRequest(info.url, { method: 'POST', path: '/api/logout', headers: { cookie, 'content-type': 'application/json', ...headers }, body: '{}' });
    assert.equal((await logout({})).status, 403);
    assert.equal((await postLogin(info.url, '{"token": ')).status, 400);
    assert.equal((await postLogin(info.url, JSON.stringify({ token: 'x'.repeat(1024 * 1024) }))).status, 413);
    assert.equal((await logout({ 'x-csrf-token': csrf })).status, 200);
    assert.equal((await dashboardRequest(info.url, { path: '/api/session', headers: { cookie } })).status, 401, 'logged out');
    const page = await dashboardRequest(info.url, { path: '/' });
    assert.ok(page.status === 200 || page.status === 503, `the page: ${page.status}`);
    assert.match(String(page.headers['content-security-policy']), /default-src 'self'/);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    assert.equal(await exited, 0);
  });
});

describe('prism start serves the dashboard', () => {
  it('on the configured address: status names it, --print-url gives the bound one, live progress of another process, a changed list after a CLI backup', async () => {
    const sb = home({ dashboard: { listen: '127.0.0.1:0' }, service: { metrics_address: '' } });
    const r = prism(['start', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const s = json<StartResult>(r);
    started.push(s.pid);
    assert.match(s.dashboard_address!, /^127\.0\.0\.1:\d+$/);
    assert.notEqual(s.dashboard_address, '127.0.0.1:0');
    assert.equal(s.dashboard_url, `http://${s.dashboard_address}/`);
    const status = json<ServiceStatus>(prism(['status', '--json'], sb.env));
    assert.equal(status.dashboard_address, s.dashboard_address);
    const text = prism(['status'], sb.env).stdout;
    assert.match(text, new RegExp(`Dashboard: http://${s.dashboard_address!.replace(/\./g, '\\.')}/ `));
    assert.doesNotMatch(text, /token=/);
    const url = prism(['ui', '--print-url'], sb.env).stdout.trim();
    assert.equal(url, `http://${s.dashboard_address}/#token=${token(sb)}`);

    const unauth = eventStream(s.dashboard_address!, {});
    assert.equal(await unauth.status, 401);
    await unauth.ended;
    const stream = eventStream(s.dashboard_address!, { authorization: `Bearer ${token(sb)}` });
    await stream.next((e) => e.event === 'progress');
    // a job of another process in this PRISM_HOME (a CLI backup writes the same file: app/backups/create-backup-progress.test.ts)
    const writer = spawn(process.execPath, progressWriterArgs(sb.home), { stdio: 'ignore' });
    started.push(writer.pid!);
    await stream.next((e) => e.event === 'progress' && (e.data as { running: Array<{ pid: number }> }).running.some((j) => j.pid === writer.pid));
    writer.kill('SIGTERM');
    await stream.next((e) => e.event === 'progress' && (e.data as { running: unknown[] }).running.length === 0 && stream.events.length > 2);
    // a backup from the CLI: the list of backups changed
    const backup = prism(['backup', 'create', '--type', 'full', '--json'], sb.env);
    assert.equal(backup.code, 0, backup.stderr);
    await stream.next((e) => e.event === 'changed');
    const last = stream.events.filter((e) => e.event === 'progress').at(-1)!;
    assert.deepEqual(last.data, { running: [] }, 'the finished backup left the list');
    stream.close();

    const stop = prism(['stop'], sb.env);
    assert.equal(stop.code, 0, stop.stderr);
    assert.equal(json<ServiceStatus>(prism(['status', '--json'], sb.env)).dashboard_address, null);
  });

  it('refuses to start with a network address and no TLS, before a process is started', () => {
    const sb = home({ dashboard: { listen: '0.0.0.0:0' }, service: { metrics_address: '' } });
    const r = prism(['start'], sb.env);
    assert.equal(r.code, 59, r.stderr);
    assert.match(r.stderr, /ERR_PRISM_DASHBOARD/);
    assert.equal(json<ServiceStatus>(prism(['status', '--json'], sb.env)).running, false);
  });
});
