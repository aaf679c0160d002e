/** A throwaway PostgreSQL cluster for the point-in-time tests: initdb as `postgres`, on a free port. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import pg from 'pg';
import { PRISM_BIN, prism, type CliResult } from './fixtures.js';
import { freePort } from './free-port.js';
export { freePort };

/** The server binaries (initdb, pg_ctl) of the newest PostgreSQL installed: Debian keeps them in /usr/lib/postgresql/<version>/bin. */
export const PG_BIN = (() => {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  assert.ok(newest, `no PostgreSQL server binaries (initdb) under ${root}: install postgresql`);
  return join(root, newest, 'bin');
})();

export const pgUser = (() => {
  const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const g = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  return { uid: Number(r.stdout.trim()), gid: Number(g.stdout.trim()) };
})();

/** Runs a PostgreSQL binary as the postgres user. */
export function asPostgres(bin: string, args: string[], env: Record<string, string> = {}): CliResult {
  const r = spawnSync('setpriv', [`--reuid=${pgUser.uid}`, `--regid=${pgUser.gid}`, '--init-groups', join(PG_BIN, bin), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    cwd: '/',
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export async function query<T = Record<string, unknown>>(port: number, sql: string): Promise<T[]> {
  const c = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'postgres' });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Switches to a new WAL segment and waits (polling pg_stat_archiver) until the old one is archived. */
export async function switchAndWaitArchived(port: number): Promise<string> {
  const [{ seg }] = await query<{ seg: string }>(port, 'SELECT pg_walfile_name(pg_switch_wal()) AS seg');
  return until(`archiving of ${seg}`, async () => {
    const [s] = await query<{ last: string | null; failed: string }>(
      port,
      'SELECT last_archived_wal AS last, failed_count::text AS failed FROM pg_stat_archiver',
    );
    return s && s.last !== null && s.last.slice(0, 24) >= seg ? seg : undefined;
  });
}

/**
 * A moment after everything committed so far (the server's clock, rounded up to the millisecond),
 * waited out, so that a commit made next is after it: a recovery target between two commits.
 */
export async function targetAfterLastCommit(port: number): Promise<Date> {
  const [{ ms }] = await query<{ ms: string }>(port, 'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::text AS ms');
  const target = new Date(Math.ceil(Number(ms)) + 1);
  await until('the server clock to pass the target', async () => {
    const [{ past }] = await query<{ past: boolean }>(port, `SELECT clock_timestamp() > '${target.toISOString()}'::timestamptz AS past`);
    return past ? true : undefined;
  });
  return target;
}

export function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/**
 * initdb in `root`/data as postgres and starts it on `port` (socket in `root`, fsync off),
 * archiving its WAL into `root`/repo with `prism pg archive-wal` (or `archive`: '' holds the WAL
 * back until an archive_command is set). Returns the data directory.
 */
export function startArchivingCluster(
  root: string,
  port: number,
  env: Record<string, string>,
  initdbArgs: string[] = [],
  archive = `'${process.execPath}' '${PRISM_BIN}' pg archive-wal %p --repo '${join(root, 'repo')}'`,
): string {
  const data = join(root, 'data');
  const init = asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-N', ...initdbArgs]);
  assert.equal(init.code, 0, init.stderr);
  appendFileSync(
    join(data, 'postgresql.conf'),
    `\nport = ${port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '${root}'\nfsync = off\narchive_mode = on\narchive_command = '${archive.replace(/'/g, "''")}'\n`,
  );
  const start = asPostgres('pg_ctl', ['-D', data, '-l', join(root, 'data.log'), '-w', 'start'], env);
  assert.equal(start.code, 0, start.stderr + readLog(join(root, 'data.log')));
  return data;
}

/** The place a point-in-time suite works in (set by its `before` hook). */
export interface PitrSuite {
  /** A temporary directory owned by postgres: the clusters, the repository (`repo`), PRISM_HOME (`home`). */
  root: string;
  /** A free port for the suite's clusters. */
  port: number;
  env: Record<string, string>;
  /** Data directories of the clusters started: stopped when the suite ends. */
  clusters: string[];
  /** `prism ARGS --repo root/repo` as the postgres user. */
  run: (args: string[]) => CliResult;
}

/** Registers the suite's before/after hooks; `config`, when given, is written as PRISM_HOME's backup.json. */
export function pitrSuite(prefix: string, config?: object): PitrSuite {
  const s: PitrSuite = {
    root: '',
    port: 0,
    env: {},
    clusters: [],
    run: (args) => prism([...args, '--repo', join(s.root, 'repo')], s.env, { uid: pgUser.uid, gid: pgUser.gid }),
  };
  before(async () => {
    s.root = mkdtempSync(join(tmpdir(), prefix));
    s.port = await freePort();
    const home = join(s.root, 'home');
    const owned = [s.root];
    if (config) {
      mkdirSync(join(home, 'config'), { recursive: true });
      writeFileSync(join(home, 'config', 'backup.json'), JSON.stringify(config));
      owned.push(home, join(home, 'config'), join(home, 'config', 'backup.json'));
    }
    for (const p of owned) chownSync(p, pgUser.uid, pgUser.gid);
    s.env = { PRISM_HOME: home };
  });
  after(() => {
    for (const dir of s.clusters) if (existsSync(join(dir, 'postmaster.pid'))) asPostgres('pg_ctl', ['-D', dir, '-m', 'immediate', '-w', 'stop']);
    rmSync(s.root, { recursive: true, force: true });
  });
  return s;
}
