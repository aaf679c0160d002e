import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { AppContext } from '../../app/index.js';
import { progressDir } from '../../app/monitoring/progress-file.js';
import { FixedClock, systemClock } from '../../core/clock.js';
import { silentLogger } from '../../core/logger.js';
import { PrismError } from '../../errors/index.js';
import { dashboardRequest, eventStream, progressWriterArgs, sessionOf, signIn, type HttpReply, type Session } from '../../testing/dashboard-http.js';
import { ApiError, json, type ApiRoute } from '../api/route.js';
import { checkPassword, dashboardToken, dashboardTokenFile, hashPassword } from './credentials.js';
import { BODY_LIMIT, buildDashboard, type Dashboard, type DashboardOptions } from './dashboard-app.js';
import { FREE_LOGIN_FAILURES } from './sessions.js';
import { checkListen, isLoopback, startDashboard, type RunningDashboard } from './start-dashboard.js';

const roots: string[] = [];
const children: ChildProcess[] = [];
const closers: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const close of closers) await close().catch(() => undefined);
  roots.forEach((r) => rmSync(r, { recursive: true, force: true }));
});

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'prism-dashboard-'));
  roots.push(d);
  return d;
}

const TOKEN = 'A'.repeat(21) + 'b'.repeat(22);
const SECRET = 'the-data-behind-the-login';

/** A small route list, standing for web/api's. */
const ROUTES: ApiRoute[] = [
  { method: 'GET', path: '/api/thing', summary: 'data', handler: async () => json({ secret: SECRET }) },
  { method: 'POST', path: '/api/echo', summary: 'echo', handler: async (req) => json({ got: req.body }) },
  { method: 'GET', path: '/api/items/:id', summary: 'one', handler: async (req) => json({ id: req.params.id, q: req.query.q ?? null }) },
  {
    method: 'GET',
    path: '/api/missing',
    summary: 'unknown id',
    handler: async () => {
      throw new PrismError('BACKUP_NOT_FOUND', 'No backup 20260101-000000-aaaa.');
    },
  },
  {
    method: 'GET',
    path: '/api/refused',
    summary: 'client error',
    handler: async () => {
      throw new ApiError(409, 'LIVE_DATA_DIRECTORY', 'Stop the service and use prism backup restore.');
    },
  },
  {
    method: 'GET',
    path: '/api/crash',
    summary: 'bug',
    handler: async () => {
      throw new Error('something broke');
    },
  },
];

function uiDir(): { dir: string; outside: string } {
  const root = tempDir();
  const dir = join(root, 'dist', 'ui');
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>prism</title><script src="app.js"></script>');
  writeFileSync(join(dir, 'app.js'), 'console.log("app")');
  writeFileSync(join(dir, 'assets', 'app.css'), 'body{}');
  writeFileSync(join(root, 'dist', 'secret.txt'), 'OUTSIDE-SECRET');
  writeFileSync(join(root, 'secret.txt'), 'OUTSIDE-SECRET');
  symlinkSync(join(root, 'secret.txt'), join(dir, 'link-out.txt'));
  symlinkSync('/etc', join(dir, 'etc-link'));
  return { dir, outside: join(root, 'secret.txt') };
}

async function dashboard(over: Partial<DashboardOptions> = {}): Promise<{ d: Dashboard; clock: FixedClock; home: string }> {
  const home = tempDir();
  const clock = new FixedClock(new Date('2026-03-01T10:00:00Z'));
  const d = await buildDashboard({
    context: async () => ({ config: { home }, clock, logger: silentLogger }) as unknown as AppContext,
    home,
    clock,
    token: TOKEN,
    sessionHours: 12,
    routes: ROUTES,
    uiDir: uiDir().dir,
    ...over,
  });
  closers.push(() => d.app.close());
  return { d, clock, home };
}

/** Signs in without a socket (Fastify's inject). */
async function login(d: Dashboard, body: unknown = { token: TOKEN }): Promise<Session> {
  const r = await d.app.inject({ method: 'POST', url: '/api/login', payload: body as object });
  assert.equal(r.statusCode, 200, r.body);
  return sessionOf(r.headers['set-cookie'], r.body);
}

function assertNoData(body: string): void {
  assert.doesNotMatch(body, new RegExp(SECRET));
  assert.deepEqual(Object.keys(JSON.parse(body) as object), ['error']);
}

describe('dashboard server: authentication', () => {
  it('refuses every API request without credentials (401, an error and no data); the security headers are on every reply', async () => {
    const { d } = await dashboard();
    for (const [method, url] of [
      ['GET', '/api/thing'],
      ['GET', '/api/items/1'],
      ['POST', '/api/echo'],
      ['GET', '/api/events'],
      ['GET', '/api/nothing-here'],
      ['GET', '/api'],
      ['POST', '/api/logout'],
    ] as const) {
      const r = await d.app.inject({ method, url, ...(method === 'POST' ? { payload: { a: 1 } } : {}) });
      assert.equal(r.statusCode, 401, `${method} ${url}`);
      assertNoData(r.body);
      assert.equal((r.json() as { error: { code: string } }).error.code, 'UNAUTHENTICATED');
      assert.match(
        String(r.headers['content-security-policy']),
        /default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'/,
      );
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.headers['referrer-policy'], 'no-referrer');
    }
    const s = await d.app.inject({ method: 'GET', url: '/api/session' });
    assert.equal(s.statusCode, 401);
  });

  it('a bearer token opens GET and POST (no CSRF token needed); a wrong one is 401, also with a valid cookie', async () => {
    const { d } = await dashboard();
    const ok = await d.app.inject({ method: 'GET', url: '/api/thing', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { secret: SECRET });
    assert.equal(ok.headers['cache-control'], 'no-store');
    const post = await d.app.inject({ method: 'POST', url: '/api/echo', headers: { authorization: `Bearer ${TOKEN}` }, payload: { x: [1, 2] } });
    assert.equal(post.statusCode, 200);
    assert.deepEqual(post.json(), { got: { x: [1, 2] } });
    const { cookie } = await login(d);
    for (const wrong of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, 'Bearer ', `Basic ${TOKEN}`, TOKEN, `Bearer ${TOKEN.toLowerCase()}`]) {
      const r = await d.app.inject({ method: 'GET', url: '/api/thing', headers: { authorization: wrong, cookie } });
      assert.equal(r.statusCode, 401, wrong);
      assertNoData(r.body);
    }
  });

  it('logs in with the token: an HttpOnly SameSite=Strict session cookie (not Secure over plain HTTP) and a CSRF token; /api/session tells it', async () => {
    const { d } = await dashboard();
    const { cookie, csrf, setCookie } = await login(d);
    assert.match(setCookie, /^prism_session=[A-Za-z0-9_-]{43};/);
    assert.match(setCookie, /; HttpOnly/);
    assert.match(setCookie, /; SameSite=Strict/);
    assert.match(setCookie, /; Path=\//);
    assert.doesNotMatch(setCookie, /Secure/);
    const s = await d.app.inject({ method: 'GET', url: '/api/session', headers: { cookie } });
    assert.equal(s.statusCode, 200);
    const body = s.json() as { csrf_token: string; version: string; time_zone: null; expires_at: string };
    assert.equal(body.csrf_token, csrf);
    assert.equal(body.time_zone, null);
    assert.equal(body.expires_at, '2026-03-01T22:00:00.000Z');
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    const thing = await d.app.inject({ method: 'GET', url: '/api/thing', headers: { cookie } });
    assert.equal(thing.statusCode, 200);
  });

  it('refuses a wrong token or password (401, no cookie), logs in with the password of password_hash', async () => {
    const hash = await hashPassword('correct horse');
    assert.equal(await checkPassword('correct horse', hash), true);
    assert.equal(await checkPassword('correct hors', hash), false);
    assert.equal(await checkPassword('correct horse', 'scrypt$30$8$1$AAAA$BBBB'), false, 'excessive parameters match nothing');
    const { d } = await dashboard({ passwordHash: hash });
    for (const body of [{ token: TOKEN.slice(0, -1) + 'c' }, { token: '' }, { password: 'wrong' }, { password: 'correct horse ' }]) {
      const r = await d.app.inject({ method: 'POST', url: '/api/login', payload: body });
      assert.equal(r.statusCode, 401, JSON.stringify(body));
      assert.equal(r.headers['set-cookie'], undefined);
    }
    const bad = await d.app.inject({ method: 'POST', url: '/api/login', payload: { user: 'admin' } });
    assert.equal(bad.statusCode, 400);
    const { cookie } = await login(d, { password: 'correct horse' });
    assert.equal((await d.app.inject({ method: 'GET', url: '/api/thing', headers: { cookie } })).statusCode, 200);
    const { d: noPassword } = await dashboard();
    const r = await noPassword.app.inject({ method: 'POST', url: '/api/login', payload: { password: 'correct horse' } });
    assert.equal(r.statusCode, 401, 'no password_hash: no password logs in');
  });

  it('refuses a cookie-authenticated POST without the right x-csrf-token (403), accepts it with', async () => {
    const { d } = await dashboard();
    const { cookie, csrf } = await login(d);
    for (const headers of [{ cookie }, { cookie, 'x-csrf-token': '' }, { cookie, 'x-csrf-token': csrf.slice(1) }, { cookie, 'x-csrf-token': TOKEN }]) {
      const r = await d.app.inject({ method: 'POST', url: '/api/echo', headers, payload: { a: 1 } });
      assert.equal(r.statusCode, 403);
      assert.equal((r.json() as { error: { code: string } }).error.code, 'CSRF_TOKEN_MISSING');
      assert.doesNotMatch(r.body, /"got"/);
    }
    const ok = await d.app.inject({ method: 'POST', url: '/api/echo', headers: { cookie, 'x-csrf-token': csrf }, payload: { a: 1 } });
    assert.equal(ok.statusCode, 200);
    assert.deepEqual(ok.json(), { got: { a: 1 } });
    const logout = await d.app.inject({ method: 'POST', url: '/api/logout', headers: { cookie } });
    assert.equal(logout.statusCode, 403, 'logging out is a POST like the others');
  });

  it('logs out: the session ends and the cookie is cleared', async () => {
    const { d } = await dashboard();
    const { cookie, csrf } = await login(d);
    const r = await d.app.inject({ method: 'POST', url: '/api/logout', headers: { cookie, 'x-csrf-token': csrf } });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['set-cookie']), /^prism_session=;.*Expires=Thu, 01 Jan 1970/);
    assert.equal((await d.app.inject({ method: 'GET', url: '/api/thing', headers: { cookie } })).statusCode, 401);
    assert.equal(d.sessions.size, 0);
  });

  it('a session expires after session_hours on the injected clock', async () => {
    const { d, clock } = await dashboard({ sessionHours: 2 });
    const { cookie } = await login(d);
    clock.advance(2 * 3600_000 - 1000);
    assert.equal((await d.app.inject({ method: 'GET', url: '/api/thing', headers: { cookie } })).statusCode, 200);
    clock.advance(1000);
    const r = await d.app.inject({ method: 'GET', url: '/api/thing', headers: { cookie } });
    assert.equal(r.statusCode, 401);
    assertNoData(r.body);
    assert.equal((await d.app.inject({ method: 'GET', url: '/api/session', headers: { cookie } })).statusCode, 401);
  });

  it('slows down repeated failed logins: after a few, even the right token waits, for longer after each failure', async () => {
    const { d, clock } = await dashboard();
    const attempt = (token: string) => d.app.inject({ method: 'POST', url: '/api/login', payload: { token } });
    for (let i = 0; i < FREE_LOGIN_FAILURES; i++) assert.equal((await attempt('wrong')).statusCode, 401);
    const held = await attempt(TOKEN);
    assert.equal(held.statusCode, 429);
    assert.equal(held.headers['retry-after'], '1');
    assert.equal(held.headers['set-cookie'], undefined);
    clock.advance(1000);
    assert.equal((await attempt('wrong')).statusCode, 401);
    clock.advance(1000);
    const longer = await attempt(TOKEN);
    assert.equal(longer.statusCode, 429, 'the second wait is two seconds');
    clock.advance(1000);
    assert.equal((await attempt(TOKEN)).statusCode, 200);
    assert.equal((await attempt('wrong')).statusCode, 401, 'a success clears the count');
  });
});

describe('dashboard server: requests and errors', () => {
  it('maps errors to JSON: malformed JSON 400, a form body 415, over 1 MiB 413, unknown endpoint 404, PrismError and ApiError statuses, 500 without a stack', async () => {
    const { d } = await dashboard();
    const auth = { authorization: `Bearer ${TOKEN}` };
    const post = (payload: string, type = 'application/json') =>
      d.app.inject({ method: 'POST', url: '/api/echo', headers: { ...auth, 'content-type': type }, payload });
    for (const bad of ['{"a":', '{a:1}', "{'a':1}", '[1,2', '{"__proto__":{"x":1}}']) {
      const r = await post(bad);
      assert.equal(r.statusCode, 400, bad);
      assert.equal((r.json() as { error: { code: string } }).error.code, 'BAD_REQUEST');
    }
    const loginBad = await d.app.inject({ method: 'POST', url: '/api/login', headers: { 'content-type': 'application/json' }, payload: '{"token":' });
    assert.equal(loginBad.statusCode, 400);
    assert.equal((await post('a=1', 'application/x-www-form-urlencoded')).statusCode, 415);
    assert.equal((await post('{"a":1}', 'text/plain')).statusCode, 415);
    const big = await post(JSON.stringify({ a: 'x'.repeat(BODY_LIMIT) }));
    assert.equal(big.statusCode, 413);
    assert.equal((big.json() as { error: { code: string } }).error.code, 'BODY_TOO_LARGE');
    assert.equal((await post(JSON.stringify({ a: 'x'.repeat(BODY_LIMIT - 100) }))).statusCode, 200);

    const unknown = await d.app.inject({ method: 'GET', url: '/api/backups-of-mars', headers: auth });
    assert.equal(unknown.statusCode, 404);
    assert.equal((unknown.json() as { error: { code: string } }).error.code, 'NOT_FOUND');
    assert.equal((await d.app.inject({ method: 'DELETE', url: '/api/thing', headers: auth })).statusCode, 404);

    const item = await d.app.inject({ method: 'GET', url: '/api/items/a%2Fb?q=x&q=y', headers: auth });
    assert.deepEqual(item.json(), { id: 'a/b', q: 'y' });
    const missing = await d.app.inject({ method: 'GET', url: '/api/missing', headers: auth });
    assert.equal(missing.statusCode, 404);
    assert.equal((missing.json() as { error: { code: string } }).error.code, 'ERR_PRISM_NOT_FOUND');
    const refused = await d.app.inject({ method: 'GET', url: '/api/refused', headers: auth });
    assert.equal(refused.statusCode, 409);
    assert.deepEqual(refused.json(), { error: { code: 'LIVE_DATA_DIRECTORY', message: 'Stop the service and use prism backup restore.' } });
    const crash = await d.app.inject({ method: 'GET', url: '/api/crash', headers: auth });
    assert.equal(crash.statusCode, 500);
    assert.deepEqual(crash.json(), { error: { code: 'ERR_PRISM_INTERNAL', message: 'something broke' } });
    assert.doesNotMatch(crash.body, /at .*\.js/);
  });
});

/** A GET over a socket, the path exactly as given (no client normalises `..`). */
const raw = (port: number, path: string): Promise<HttpReply> => dashboardRequest(`http://127.0.0.1:${port}/`, { path });

describe('dashboard server: static files of the UI', () => {
  it('serves index.html and the assets, and nothing outside dist/ui whatever the encoding', async () => {
    const ui = uiDir();
    const { d } = await dashboard({ uiDir: ui.dir });
    await d.app.listen({ host: '127.0.0.1', port: 0 });
    const port = (d.app.server.address() as { port: number }).port;
    const index = await raw(port, '/');
    assert.equal(index.status, 200);
    assert.match(index.body, /<title>prism<\/title>/);
    assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
    assert.match(String(index.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal((await raw(port, '/app.js')).headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal((await raw(port, '/assets/app.css')).body, 'body{}');
    assert.equal((await raw(port, '/nothing.js')).status, 404);
    for (const path of [
      '/..%2f..%2fetc/passwd',
      '/../../../../etc/passwd',
      '/..%2fsecret.txt',
      '/..%2f..%2fsecret.txt',
      '/%2e%2e/secret.txt',
      '/%2e%2e%2fsecret.txt',
      '/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/.%2e/.%2e/secret.txt',
      '/..%5c..%5csecret.txt',
      '/..\\..\\secret.txt',
      '/%252e%252e%252fsecret.txt',
      '/%c0%ae%c0%ae/secret.txt',
      '/assets/../../secret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '//etc/passwd',
      '/%2fetc%2fpasswd',
      '/link-out.txt',
      '/etc-link/passwd',
      '/etc-link/hostname',
      '/app.js%00.html',
      '/%',
      '/.env',
    ]) {
      const r = await raw(port, path);
      assert.notEqual(r.status, 200, `${path} → ${r.status}`);
      assert.doesNotMatch(r.body, /OUTSIDE-SECRET|root:/, path);
    }
  });

  it('sends the gzip copy to a browser that takes gzip, the file itself otherwise; a copy pointing outside is not used', async () => {
    const ui = uiDir();
    writeFileSync(join(ui.dir, 'app.js.gz'), gzipSync('console.log("app")'));
    symlinkSync(ui.outside, join(ui.dir, 'index.html.gz'));
    const { d } = await dashboard({ uiDir: ui.dir });
    const packed = await d.app.inject({ method: 'GET', url: '/app.js', headers: { 'accept-encoding': 'gzip, deflate, br' } });
    assert.equal(packed.headers['content-encoding'], 'gzip');
    assert.equal(packed.headers['vary'], 'accept-encoding');
    assert.equal(packed.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(gunzipSync(packed.rawPayload).toString(), 'console.log("app")');
    for (const accept of [undefined, 'identity', 'gzip;q=0, deflate']) {
      const plain = await d.app.inject({ method: 'GET', url: '/app.js', headers: accept === undefined ? {} : { 'accept-encoding': accept } });
      assert.equal(plain.headers['content-encoding'], undefined, String(accept));
      assert.equal(plain.body, 'console.log("app")');
    }
    const index = await d.app.inject({ method: 'GET', url: '/', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(index.headers['content-encoding'], undefined, 'the copy is a link out of dist/ui: the file itself is sent');
    assert.match(index.body, /<title>prism<\/title>/);
  });

  it('says the UI was not built when dist/ui is missing; /api still answers', async () => {
    const { d } = await dashboard({ uiDir: join(tempDir(), 'dist', 'ui') });
    const r = await d.app.inject({ method: 'GET', url: '/' });
    assert.equal(r.statusCode, 503);
    assert.match(r.body, /was not built/);
    assert.equal((await d.app.inject({ method: 'GET', url: '/api/thing', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200);
  });
});

function fakeContext(home: string): AppContext {
  return {
    config: { home, backup: { dashboard: { listen: '', insecure: false, session_hours: 12 } } },
    clock: systemClock,
    logger: silentLogger,
  } as unknown as AppContext;
}

describe('dashboard server: listening', () => {
  it('refuses a non-loopback address without TLS or insecure; loopback, TLS and insecure pass; a bad address names the key', () => {
    assert.equal(isLoopback('127.0.0.1'), true);
    assert.equal(isLoopback('127.5.0.1'), true);
    assert.equal(isLoopback('::1'), true);
    assert.equal(isLoopback('localhost'), true);
    assert.equal(isLoopback('0.0.0.0'), false);
    assert.equal(isLoopback('::'), false);
    assert.equal(isLoopback('192.168.1.5'), false);
    assert.equal(isLoopback('127.0.0.1.evil.example'), false);
    for (const listen of ['0.0.0.0:9470', '[::]:9470', '10.1.2.3:80', 'example.com:9470']) {
      assert.throws(
        () => checkListen({ listen, insecure: false }),
        (e: PrismError) => e.code === 'DASHBOARD_UNSAFE' && e.id === 'ERR_PRISM_DASHBOARD' && /tls_cert/.test(e.message) && /--insecure/.test(e.message),
      );
      assert.equal(checkListen({ listen, insecure: true }).tls, undefined);
    }
    assert.deepEqual(checkListen({ listen: '[::1]:0', insecure: false }), { host: '::1', port: 0 });
    assert.throws(
      () => checkListen({ listen: 'localhost', insecure: false }),
      (e: PrismError) => e.code === 'CONFIG_INVALID' && e.details.key === 'backup.dashboard.listen' && /backup\.dashboard\.listen/.test(e.message),
    );
    assert.throws(
      () => checkListen({ listen: '0.0.0.0:1', insecure: false, tlsCert: '/nonexistent/cert.pem', tlsKey: '/nonexistent/key.pem' }),
      (e: PrismError) => e.code === 'CONFIG_INVALID' && e.details.key === 'backup.dashboard.tls_cert',
    );
  });

  it('serves HTTPS with a certificate from the configuration; the session cookie is then Secure', async (t) => {
    const dir = tempDir();
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const home = tempDir();
    const server = await startDashboard({
      ctx: fakeContext(home),
      settings: { listen: '0.0.0.0:0', tlsCert: cert, tlsKey: key, insecure: false },
      routes: ROUTES,
      log: silentLogger,
      uiDir: uiDir().dir,
    });
    closers.push(() => server.close());
    assert.match(server.url, /^https:\/\/0\.0\.0\.0:\d+\/$/);
    const port = Number(server.address.split(':').pop());
    const { setCookie } = await signIn(`https://127.0.0.1:${port}/`, { token: dashboardToken(home) });
    assert.match(setCookie, /; Secure/);
    assert.match(setCookie, /; HttpOnly/);
    const plain = await raw(port, '/api/session').catch((e: Error) => ({ status: 0, body: e.message }));
    assert.notEqual(plain.status, 200, 'plain HTTP is not answered on the TLS port');
    t.diagnostic(`served on ${server.url}`);
  });

  it('creates the token file 0600 once and keeps it', () => {
    const home = tempDir();
    const a = dashboardToken(home);
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(dashboardToken(home), a);
    assert.equal(spawnSync('stat', ['-c', '%a', dashboardTokenFile(home)], { encoding: 'utf8' }).stdout.trim(), '600');
    writeFileSync(dashboardTokenFile(home), 'short\n');
    assert.throws(
      () => dashboardToken(home),
      (e: PrismError) => e.code === 'CONFIG_INVALID',
    );
  });
});

async function waitUntil(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

describe('dashboard server: live progress (server-sent events)', () => {
  it('sends the progress another process writes, drops dead processes, tells of a changed backup list, and ends the stream on close', async () => {
    const home = tempDir();
    let backups = 'one';
    const server: RunningDashboard = await startDashboard({
      ctx: fakeContext(home),
      settings: { listen: '127.0.0.1:0', insecure: false },
      routes: ROUTES,
      log: silentLogger,
      uiDir: uiDir().dir,
      events: { intervalMs: 50, backupsIntervalMs: 50, backups: async () => backups },
    });
    closers.push(() => server.close());
    const token = dashboardToken(home);

    const refused = eventStream(server.address, {});
    assert.equal(await refused.status, 401);
    await refused.ended;
    assert.deepEqual(refused.events, []);

    // a file of a process that is gone: removed, never shown
    mkdirSync(progressDir(home), { recursive: true });
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const deadFile = join(progressDir(home), `${dead}.json`);
    writeFileSync(
      deadFile,
      JSON.stringify({
        pid: dead,
        job: 'backup full',
        kind: 'backup',
        started_at: '2026-03-01T10:00:00.000Z',
        bytes_done: 1,
        bytes_total: 2,
        files_done: 1,
        files_total: 2,
        rate_bytes_per_s: 1,
        eta_seconds: 1,
        updated_at: '2026-03-01T10:00:01.000Z',
      }),
    );
    const stream = eventStream(server.address, { authorization: `Bearer ${token}` });
    assert.equal(await stream.status, 200);
    const first = await stream.next((e) => e.event === 'progress');
    assert.deepEqual(first.data, { running: [] });
    assert.equal(existsSync(deadFile), false);

    const writer = spawn(process.execPath, progressWriterArgs(home), { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(writer);
    const seen = await stream.next((e) => e.event === 'progress' && (e.data as { running: Array<{ pid: number }> }).running.some((r) => r.pid === writer.pid));
    const job = (seen.data as { running: Array<Record<string, unknown>> }).running.find((r) => r.pid === writer.pid)!;
    assert.equal(job.kind, 'backup');
    assert.equal(job.bytes_total, 4096);
    assert.equal(job.files_total, 4);
    assert.equal(job.job, 'backup full');

    writer.kill('SIGKILL'); // killed: its file stays behind, and the server drops it
    const after = stream.events.indexOf(seen);
    await stream.next((e) => e.event === 'progress' && stream.events.indexOf(e) > after && (e.data as { running: unknown[] }).running.length === 0);
    assert.equal(existsSync(join(progressDir(home), `${writer.pid}.json`)), false);

    backups = 'two';
    const changed = await stream.next((e) => e.event === 'changed');
    assert.deepEqual(changed.data, { what: 'backups' });

    const { cookie } = await login(server.dashboard, { token });
    const byCookie = eventStream(server.address, { cookie });
    assert.equal(await byCookie.status, 200);
    await byCookie.next((e) => e.event === 'progress');
    assert.equal(server.dashboard.events.size, 2);
    byCookie.close();
    await waitUntil(() => server.dashboard.events.size === 1);

    await server.close();
    await stream.ended;
  });
});
