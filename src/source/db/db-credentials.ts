import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import type { ConnectionOptions } from 'node:tls';
import { PrismError } from '../../errors/index.js';
import { classifyDbError, scrubSecret } from './db-errors.js';
import { displayDbUrl, parseDbUrl, type DbType, type DbUrl } from './db-url.js';
import { pgTool } from '../postgres/pg-tools.js';

/** Where a password may come from (backup.databases[] has these keys). */
export interface DbCredentialSource {
  readonly url: string;
  readonly password_file?: string | undefined;
  readonly password_env?: string | undefined;
}

/** A parsed URL with its password resolved. Pass it around; print only `shown`. */
export interface DbTarget extends DbUrl {
  /** The URL without the password, safe for logs, errors and manifests. */
  readonly shown: string;
}

/** Seconds a native tool or driver waits for a connection before giving up (an unreachable host fails fast). */
export const CONNECT_TIMEOUT_S = 10;

/**
 * Resolves the password: the URL's own, else the first line of `password_file`, else the
 * variable named by `password_env`; none at all is fine (trust auth). A named file or variable
 * that is missing is an error (CONFIG_INVALID), never a silent fallback to no password.
 * `flag` names the command-line flag the URL came from in parse errors.
 */
export function resolveDbTarget(src: DbCredentialSource, env: NodeJS.ProcessEnv = process.env, expect?: DbType, flag?: string): DbTarget {
  const u = parseDbUrl(src.url, expect, flag);
  let password = u.password;
  if (password === undefined && src.password_file !== undefined) {
    try {
      password = readFileSync(src.password_file, 'utf8').split(/\r?\n/)[0]!;
    } catch (e) {
      throw new PrismError('CONFIG_INVALID', `password_file ${src.password_file} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, {
        path: src.password_file,
      });
    }
  }
  if (password === undefined && src.password_env !== undefined) {
    password = env[src.password_env];
    if (password === undefined)
      throw new PrismError('CONFIG_INVALID', `password_env names ${src.password_env}, which is not set in the environment.`, { variable: src.password_env });
  }
  return { ...u, password, shown: displayDbUrl(u) };
}

/** How to start a native client so it authenticates from a private file (never argv, never the log). */
export interface NativeAuth {
  /** Environment for the child (PGPASSFILE, PGHOST … for PostgreSQL; PGPASSWORD/MYSQL_PWD removed). */
  readonly env: NodeJS.ProcessEnv;
  /** Arguments that must come first (MySQL: --defaults-extra-file=…, which must be the first option). */
  readonly args: readonly string[];
}

/**
 * Runs `fn` with a temporary 0600 credentials file in a 0700 directory: a PGPASSFILE for
 * PostgreSQL tools (only when there is a password), a --defaults-extra-file for mysql/mariadb
 * tools. The file is removed afterwards, whatever happens. The database name is not part of it:
 * pass it to the tool.
 */
export async function withNativeAuth<T>(t: DbTarget, fn: (auth: NativeAuth) => Promise<T>): Promise<T> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['PGPASSWORD', 'MYSQL_PWD', 'PGSERVICE', 'PGSERVICEFILE']) delete env[k];
  if (t.type === 'postgres') {
    // any host/port/db: the file is ours alone and names one password
    Object.assign(env, { PGHOST: t.host, PGPORT: String(t.port), PGUSER: t.user, PGCONNECT_TIMEOUT: String(CONNECT_TIMEOUT_S) });
    if (t.params['sslmode']) env['PGSSLMODE'] = t.params['sslmode'];
    // no password (trust, peer, a .pgpass of the user's own): no file to write
    if (t.password === undefined) return fn({ env, args: [] });
    return withPrivateFile('pgpass', `*:*:*:${pgpassEscape(t.user)}:${pgpassEscape(t.password)}\n`, (file) =>
      fn({ env: { ...env, PGPASSFILE: file }, args: [] }),
    );
  }
  const lines = ['[client]', `user=${cnfQuote(t.user)}`];
  if (t.password !== undefined) lines.push(`password=${cnfQuote(t.password)}`);
  if (t.host.startsWith('/')) lines.push(`socket=${cnfQuote(t.host)}`, 'protocol=socket');
  else lines.push(`host=${cnfQuote(t.host)}`, `port=${t.port}`, 'protocol=tcp');
  lines.push('[mysql]', `connect-timeout=${CONNECT_TIMEOUT_S}`, '[mariadb-client]', `connect-timeout=${CONNECT_TIMEOUT_S}`);
  return withPrivateFile('my.cnf', lines.join('\n') + '\n', (file) => fn({ env, args: [`--defaults-extra-file=${file}`] }));
}

/** `text` in a 0600 file in a new 0700 directory for the duration of `fn`, removed afterwards whatever happens. */
async function withPrivateFile<T>(name: string, text: string, fn: (file: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'prism-db-'));
  try {
    const file = join(dir, name);
    writeFileSync(file, text, { mode: 0o600 });
    return await fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RunNativeOptions {
  /** Fed to the tool's stdin (then closed); none: stdin is /dev/null. */
  readonly input?: Readable | string | Buffer;
  /** Consumes stdout as it streams (e.g. into the repository); without it stdout is collected and returned. */
  readonly stdout?: (out: Readable) => Promise<void>;
  /** Receives stdin when the caller writes it itself (instead of `input`). */
  readonly stdin?: (inp: Writable) => Promise<void>;
  /** What the tool was doing, for the error message ("dumping table x"). */
  readonly what?: string;
  /** Stops the tool (SIGTERM): the run rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Runs a native tool (`pg_dump`, `psql`, `mariadb-dump`, `mariadb` …) against `t` with its
 * credentials in a private file. Resolves with the collected stdout (empty when `stdout` is
 * given) when the tool exits 0; otherwise rejects with DB_AUTH_FAILED, DB_UNREACHABLE or
 * DB_TOOL_FAILED, its message taken from stderr with the password scrubbed.
 */
export function runNative(t: DbTarget, tool: string, args: readonly string[], opts: RunNativeOptions = {}): Promise<string> {
  return withNativeAuth(t, (auth) => spawnTool(t, tool, [...auth.args, ...args], auth.env, opts));
}

function spawnTool(t: DbTarget, tool: string, args: string[], env: NodeJS.ProcessEnv, opts: RunNativeOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const wantsStdin = opts.input !== undefined || opts.stdin !== undefined;
    const child = spawn(t.type === 'postgres' ? pgTool(tool) : tool, args, {
      env,
      stdio: [wantsStdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    let stderr = '';
    const out: Buffer[] = [];
    let consumer: Promise<void> = Promise.resolve();
    let feeder: Promise<void> = Promise.resolve();
    let spawnError: NodeJS.ErrnoException | undefined;
    child.on('error', (e: NodeJS.ErrnoException) => (spawnError = e));
    child.stderr!.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < 64 * 1024) stderr += s;
    });
    if (opts.stdout) consumer = opts.stdout(child.stdout!);
    else child.stdout!.on('data', (b: Buffer) => out.push(b));
    consumer.catch(() => child.kill('SIGTERM'));
    if (child.stdin) {
      child.stdin.on('error', () => {}); // EPIPE when the tool exits early: its exit code tells
      if (opts.stdin) feeder = opts.stdin(child.stdin);
      else if (typeof opts.input === 'string' || Buffer.isBuffer(opts.input)) child.stdin.end(opts.input);
      else if (opts.input) opts.input.pipe(child.stdin);
      feeder.catch(() => child.kill('SIGTERM'));
    }
    child.on('close', (code, signal) => {
      void Promise.allSettled([consumer, feeder]).then(([c, f]) => {
        if (opts.signal?.aborted) return reject(opts.signal.reason);
        if (spawnError) {
          const missing = spawnError.code === 'ENOENT';
          return reject(
            new PrismError(
              'DB_TOOL_FAILED',
              missing
                ? `${tool} is not installed (needed for ${t.shown}); install the ${t.type === 'postgres' ? 'postgresql-client' : 'mariadb-client'} package.`
                : `${tool} could not be started: ${spawnError.message}`,
              { tool, url: t.shown },
            ),
          );
        }
        // a consumer that failed (the repository side) stopped the tool: its reason, not the tool's exit, is the error;
        // a feeder fails with EPIPE when the tool exits early, so the tool's own error comes first there
        if (c.status === 'rejected') return reject(c.reason);
        if (code !== 0)
          return reject(classifyDbError(t, stderr.trim() || `${tool} exited with ${signal ?? code}`, { tool, ...(opts.what ? { what: opts.what } : {}) }));
        if (f.status === 'rejected') return reject(f.reason);
        resolve(scrubSecret(Buffer.concat(out).toString('utf8'), t.password));
      });
    });
  });
}

/** pg's Client config: the password stays in memory; `sslmode` (and `sslrootcert`) of the URL as libpq reads them. */
export function pgClientConfig(t: DbTarget): {
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  connectionTimeoutMillis: number;
  application_name: string;
  ssl?: ConnectionOptions;
} {
  const ssl = pgSsl(t);
  return {
    host: t.host,
    port: t.port,
    user: t.user,
    ...(t.password !== undefined ? { password: t.password } : {}),
    database: t.database,
    connectionTimeoutMillis: CONNECT_TIMEOUT_S * 1000,
    application_name: 'prism',
    ...(ssl ? { ssl } : {}),
  };
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/**
 * TLS for the pg driver from `sslmode`: require encrypts (and, with `sslrootcert`, checks the
 * certificate's chain, as libpq does), verify-ca checks the chain, verify-full the chain and the
 * host name. disable, allow and prefer (libpq's default) connect without TLS: the driver cannot
 * fall back from one to the other.
 */
function pgSsl(t: DbTarget): ConnectionOptions | undefined {
  const mode = t.params['sslmode'];
  if (mode === undefined || mode === 'disable' || mode === 'allow' || mode === 'prefer') return undefined;
  if (!SSL_MODES.includes(mode)) {
    throw new PrismError('CONFIG_INVALID', `sslmode=${mode} in ${t.shown} is not one of ${SSL_MODES.join(', ')}.`, { url: t.shown });
  }
  const rootCert = t.params['sslrootcert'];
  let ca: string | undefined;
  if (rootCert !== undefined) {
    try {
      ca = readFileSync(rootCert, 'utf8');
    } catch (e) {
      throw new PrismError('CONFIG_INVALID', `sslrootcert ${rootCert} of ${t.shown} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'}).`, {
        path: rootCert,
      });
    }
  }
  const verify = mode !== 'require' || ca !== undefined;
  return {
    rejectUnauthorized: verify,
    ...(ca !== undefined ? { ca } : {}),
    // verify-full: the name checked is the URL's host (pg gives TLS no name for an IP address)
    ...(mode === 'verify-full' ? { host: t.host } : { checkServerIdentity: () => undefined }),
  };
}

export function mysqlConnectionConfig(t: DbTarget): {
  host?: string;
  socketPath?: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  connectTimeout: number;
  multipleStatements: boolean;
  dateStrings: boolean;
  supportBigNumbers: boolean;
  bigNumberStrings: boolean;
} {
  return {
    ...(t.host.startsWith('/') ? { socketPath: t.host } : { host: t.host }),
    port: t.port,
    user: t.user,
    ...(t.password !== undefined ? { password: t.password } : {}),
    database: t.database,
    connectTimeout: CONNECT_TIMEOUT_S * 1000,
    multipleStatements: false,
    dateStrings: true,
    supportBigNumbers: true,
    bigNumberStrings: true,
  };
}

function pgpassEscape(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
}

/** A double-quoted option-file value (mysql option files unescape \\, \" and friends). */
function cnfQuote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}
