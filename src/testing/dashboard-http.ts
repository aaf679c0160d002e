/**
 * The dashboard over a real socket, for the tests of its server (web/server) and of `prism ui` /
 * `prism start` (cli): one request (HTTP or HTTPS, the path exactly as given), sign-in with a token
 * or a password, the server-sent events of /api/events, and a job in progress written by another
 * process.
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  /** Sent as it is: no client normalises `..` or `%2e`. */
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** `host` and `port` of `host:port` or `[v6]:port` (as the service and `prism ui --json` print an address). */
function hostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[(.*)\]$/, '$1'), port: Number(address.slice(colon + 1)) };
}

/**
 * One request to the dashboard at `base` (`http://HOST:PORT/` or `https://…`; over HTTPS any
 * certificate is accepted, the tests' own are self-signed).
 */
export function dashboardRequest(base: string, opts: RequestOptions): Promise<HttpReply> {
  const url = new URL(base);
  const tls = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port || (tls ? 443 : 80));
  return new Promise((resolve, reject) => {
    const options = { host, port, path: opts.path, method: opts.method ?? 'GET', headers: opts.headers ?? {} };
    const onReply = (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    };
    const req = tls ? httpsRequest({ ...options, rejectUnauthorized: false }, onReply) : httpRequest(options, onReply);
    req.on('error', reject);
    req.end(opts.body);
  });
}

export interface Session {
  /** `prism_session=…`, for a `cookie` header. */
  cookie: string;
  /** The CSRF token a POST with the cookie carries as `x-csrf-token`. */
  csrf: string;
  /** The whole Set-Cookie line (its attributes: HttpOnly, SameSite, Secure). */
  setCookie: string;
}

/** The session of a 200 reply to POST /api/login: its Set-Cookie header and its JSON body. */
export function sessionOf(setCookie: string | string[] | undefined, body: string): Session {
  const line = Array.isArray(setCookie) ? setCookie[0] : setCookie;
  if (!line) throw new Error(`the login set no cookie: ${body}`);
  return { cookie: line.split(';')[0]!, csrf: (JSON.parse(body) as { csrf_token: string }).csrf_token, setCookie: line };
}

/** POST /api/login with a JSON body as it is (a malformed or an oversized one too). */
export function postLogin(base: string, body: string): Promise<HttpReply> {
  return dashboardRequest(base, { method: 'POST', path: '/api/login', headers: { 'content-type': 'application/json' }, body });
}

/** Signs in with `{ token }` or `{ password }`; fails unless the dashboard answers 200 with a session. */
export async function signIn(base: string, credentials: { token: string } | { password: string }): Promise<Session> {
  const r = await postLogin(base, JSON.stringify(credentials));
  if (r.status !== 200) throw new Error(`POST /api/login: ${r.status} ${r.body}`);
  return sessionOf(r.headers['set-cookie'], r.body);
}

export interface DashboardEvent {
  event: string;
  data: unknown;
}

export interface EventStream {
  /** Every event received so far, in order. */
  events: DashboardEvent[];
  /** The status of the reply (200, or 401 without authentication). */
  status: Promise<number>;
  /** Settles when the server ends the stream (or the connection fails). */
  ended: Promise<void>;
  /** The first event so far or to come that `until` accepts. */
  next(until: (e: DashboardEvent) => boolean): Promise<DashboardEvent>;
  close(): void;
}

/** Reads GET /api/events of the dashboard at `address` (`host:port`) with these headers (a bearer token, a cookie). */
export function eventStream(address: string, headers: Record<string, string>): EventStream {
  const events: DashboardEvent[] = [];
  const waiters: Array<{ until: (e: DashboardEvent) => boolean; resolve: (e: DashboardEvent) => void }> = [];
  let buffer = '';
  let resolveStatus!: (n: number) => void;
  let resolveEnded!: () => void;
  const status = new Promise<number>((r) => (resolveStatus = r));
  const ended = new Promise<void>((r) => (resolveEnded = r));
  const req = httpRequest({ ...hostPort(address), path: '/api/events', headers }, (res) => {
    resolveStatus(res.statusCode!);
    res.setEncoding('utf8');
    res.on('data', (c: string) => {
      buffer += c;
      let i: number;
      while ((i = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, i);
        buffer = buffer.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (!event || data === undefined) continue;
        const e = { event, data: JSON.parse(data) as unknown };
        events.push(e);
        for (const w of [...waiters]) if (w.until(e)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(e));
      }
    });
    res.on('end', () => resolveEnded());
    res.on('close', () => resolveEnded());
  });
  req.on('error', () => resolveEnded());
  req.end();
  return {
    events,
    status,
    ended,
    close: () => req.destroy(),
    next: (until) => {
      const seen = events.find(until);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ until, resolve }));
    },
  };
}

/**
 * The arguments of `node` for a process that writes a backup's progress file in PRISM_HOME `home`
 * (4 files, 4,096 bytes, one file and 1,024 bytes done), prints `written` and runs until SIGTERM,
 * which removes the file (SIGKILL leaves it behind).
 */
export function progressWriterArgs(home: string): string[] {
  const source = `
import { ProgressFile } from ${JSON.stringify(new URL('../app/monitoring/progress-file.js', import.meta.url).href)};
import { systemClock } from ${JSON.stringify(new URL('../core/clock.js', import.meta.url).href)};
const p = new ProgressFile(process.argv[1], systemClock, 'backup', 'backup full');
p.update({ kind: 'start', totalFiles: 4, totalBytes: 4096 });
p.update({ kind: 'advance', files: 1, bytes: 1024 });
process.stdout.write('written\\n');
process.on('SIGTERM', () => { p.close(); process.exit(0); });
setInterval(() => {}, 1000);
`;
  return ['--input-type=module', '-e', source, home];
}
