import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { userInfo } from 'node:os';
import type { Readable } from 'node:stream';
import { pgDriver } from '../db/db-drivers.js';
import { PrismError } from '../../errors/index.js';
import { CONNECT_TIMEOUT_S, pgClientConfig, withNativeAuth, type DbTarget, type NativeAuth } from '../db/db-credentials.js';
import { scrubSecret } from '../db/db-errors.js';
import { connectError } from '../db/connect-errors.js';
import { TarWatcher } from './pg-basebackup-tar.js';
import { pgTool } from './pg-tools.js';

export interface ServerFacts {
  version: string;
  systemIdentifier: string;
  segmentSize: number;
  archiveMode: string;
  timeline: number;
}

/** Runs `fn` on a connection to the server (libpq's environment defaults without a target). */
async function withServer<T>(t: DbTarget | undefined, fn: (client: InstanceType<Awaited<ReturnType<typeof pgDriver>>['Client']>) => Promise<T>): Promise<T> {
  const pg = await pgDriver();
  const client = new pg.Client(t ? pgClientConfig(t) : { connectionTimeoutMillis: CONNECT_TIMEOUT_S * 1000, application_name: 'prism' });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    throw connectError(
      t ?? {
        type: 'postgres',
        host: process.env.PGHOST ?? 'localhost',
        port: Number(process.env.PGPORT ?? 5432),
        user: process.env.PGUSER ?? userInfo().username,
        password: undefined,
        database: '',
        shown: 'the PostgreSQL server of PGHOST/PGPORT',
      },
      e,
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => {});
  }
}

/** What a base backup needs to know of the server (libpq's environment defaults without a URL). */
export function serverFacts(t: DbTarget | undefined): Promise<ServerFacts> {
  return withServer(t, async (client) => {
    const r = await client.query(
      "SELECT current_setting('server_version') AS version, (SELECT system_identifier::text FROM pg_control_system()) AS sysid, current_setting('wal_segment_size') AS seg, current_setting('archive_mode') AS archive_mode, (SELECT timeline_id FROM pg_control_checkpoint()) AS tli",
    );
    const row = r.rows[0] as { version: string; sysid: string; seg: string; archive_mode: string; tli: number };
    return { version: row.version, systemIdentifier: row.sysid, segmentSize: parseSize(row.seg), archiveMode: row.archive_mode, timeline: Number(row.tli) };
  });
}

/** The next transaction id the server will assign (epoch-qualified, as txid_current() prints it). */
export function nextXid(t: DbTarget | undefined): Promise<string> {
  return withServer(t, async (client) => {
    const r = await client.query('SELECT txid_snapshot_xmax(txid_current_snapshot())::text AS x');
    return (r.rows[0] as { x: string }).x;
  });
}

/** The timeline the server writes (after a promotion, the new one), and whether it is a standby. */
export function serverTimeline(t: DbTarget | undefined): Promise<{ timeline: number; inRecovery: boolean }> {
  return withServer(t, async (client) => {
    const r = await client.query(
      "SELECT pg_is_in_recovery() AS rec, CASE WHEN pg_is_in_recovery() THEN (SELECT received_tli FROM pg_stat_wal_receiver) ELSE ('x' || left(pg_walfile_name(pg_current_wal_lsn()), 8))::bit(32)::int END AS rtli, (SELECT timeline_id FROM pg_control_checkpoint()) AS tli",
    );
    const row = r.rows[0] as { rec: boolean; rtli: number | null; tli: number };
    return { timeline: Number(row.rtli ?? row.tli), inRecovery: row.rec };
  });
}

export interface RestorePoint {
  lsn: string;
  timeline: number;
  createdAt: Date;
  systemIdentifier: string;
  archiveMode: string;
}

/** pg_create_restore_point(name) on the server: where it was written, on which timeline, when. */
export function createRestorePoint(t: DbTarget | undefined, name: string): Promise<RestorePoint> {
  return withServer(t, async (client) => {
    const facts = await client.query(
      "SELECT current_setting('archive_mode') AS archive_mode, (SELECT system_identifier::text FROM pg_control_system()) AS sysid, pg_is_in_recovery() AS rec",
    );
    const f = facts.rows[0] as { archive_mode: string; sysid: string; rec: boolean };
    if (f.rec) throw new PrismError('INVALID_ARGUMENT', 'The server is a standby (in recovery): create restore points on the primary.');
    try {
      const r = await client.query(
        "WITH p AS (SELECT pg_create_restore_point($1) AS lsn) SELECT lsn::text AS lsn, ('x' || left(pg_walfile_name(lsn), 8))::bit(32)::int AS tli, clock_timestamp() AS at FROM p",
        [name],
      );
      const row = r.rows[0] as { lsn: string; tli: number; at: Date };
      return { lsn: row.lsn, timeline: Number(row.tli), createdAt: row.at, systemIdentifier: f.sysid, archiveMode: f.archive_mode };
    } catch (e) {
      throw new PrismError('PG_ARCHIVE_FAILED', `pg_create_restore_point failed: ${(e as Error).message}.`);
    }
  });
}

function parseSize(s: string): number {
  const m = /^(\d+)\s*(kB|MB|GB)?$/.exec(s.trim());
  if (!m) return 16 * 1024 * 1024;
  return Number(m[1]) * (m[2] === 'GB' ? 1 << 30 : m[2] === 'MB' ? 1 << 20 : m[2] === 'kB' ? 1024 : 1);
}

export interface BaseBackupRun {
  /** The tar archive as pg_basebackup writes it. */
  stream: AsyncIterable<Buffer>;
  /** backup_label and backup_manifest, once the stream has been read to its end. */
  tar: TarWatcher;
  /** Resolves when pg_basebackup exits 0; rejects with its error otherwise. */
  done: Promise<void>;
  /** Stops pg_basebackup (storing failed). */
  kill(): void;
}

/**
 * `pg_basebackup -D - -Ft -X none`: one tar on stdout. Without WAL in the archive the server
 * waits until the backup's WAL is archived (through archive_command) before it returns, so a
 * finished run is restorable from the repository's WAL archive.
 */
export function runBaseBackup(t: DbTarget | undefined, label: string): BaseBackupRun {
  let started!: (child: ChildProcessByStdio<null, Readable, Readable>) => void;
  const child = new Promise<ChildProcessByStdio<null, Readable, Readable>>((resolve) => (started = resolve));
  const run = (auth: NativeAuth): Promise<void> => {
    const conn = t ? ['-h', t.host, '-p', String(t.port), '-U', t.user] : [];
    const c = spawn(pgTool('pg_basebackup'), [...auth.args, ...conn, '-w', '-D', '-', '-Ft', '-X', 'none', '--checkpoint=fast', '-l', label], {
      env: auth.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started(c);
    let stderr = '';
    c.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 16 * 1024) stderr += d.toString('utf8');
    });
    return new Promise<void>((resolve, reject) => {
      c.on('error', (e) => reject(new PrismError('PG_ARCHIVE_FAILED', `Cannot run pg_basebackup: ${e.message}. Install the PostgreSQL client tools.`)));
      c.on('close', (code) => {
        if (code === 0) resolve();
        else
          reject(new PrismError('PG_ARCHIVE_FAILED', `pg_basebackup failed (exit ${code}): ${scrubSecret(stderr.trim().replace(/\s+/g, ' '), t?.password)}`));
      });
    });
  };
  // the credentials file lives until pg_basebackup has exited
  const done = t ? withNativeAuth(t, run) : run({ env: process.env, args: [] });
  done.catch(() => {});
  const tar = new TarWatcher(new Set(['backup_label', 'backup_manifest']));
  async function* stream(): AsyncIterable<Buffer> {
    // done settles first only when pg_basebackup could not be started at all
    const c = await Promise.race([child, done.then(() => child)]);
    for await (const chunk of c.stdout as AsyncIterable<Buffer>) {
      tar.push(chunk);
      yield chunk;
    }
  }
  return { stream: stream(), tar, done, kill: () => void child.then((c) => c.kill('SIGTERM')) };
}
