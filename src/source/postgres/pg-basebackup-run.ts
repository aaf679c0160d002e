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

/** What a base backup needs to know of the server (libpq's environment defaults without a URL). */
export async function serverFacts(t: DbTarget | undefined): Promise<ServerFacts> {
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
    const r = await client.query(
      "SELECT current_setting('server_version') AS version, (SELECT system_identifier::text FROM pg_control_system()) AS sysid, current_setting('wal_segment_size') AS seg, current_setting('archive_mode') AS archive_mode, (SELECT timeline_id FROM pg_control_checkpoint()) AS tli",
    );
    const row = r.rows[0] as { version: string; sysid: string; seg: string; archive_mode: string; tli: number };
    return { version: row.version, systemIdentifier: row.sysid, segmentSize: parseSize(row.seg), archiveMode: row.archive_mode, timeline: Number(row.tli) };
  } finally {
    await client.end().catch(() => {});
  }
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
