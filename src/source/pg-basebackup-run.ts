import { spawn } from 'node:child_process';
import pg from 'pg';
import { PrismError } from '../errors/index.js';
import { clientCredentials } from './import-credentials.js';
import { connectError } from './import-errors.js';
import type { DbTarget } from './import-url.js';
import { TarWatcher } from './pg-basebackup-tar.js';

export interface ServerFacts {
  version: string;
  systemIdentifier: string;
  segmentSize: number;
  archiveMode: string;
  timeline: number;
}

/** What a base backup needs to know of the server (libpq's environment defaults without a URL). */
export async function serverFacts(t: DbTarget | undefined): Promise<ServerFacts> {
  const client = new pg.Client(t ? { host: t.host, port: t.port, user: t.user, password: t.password ?? '', database: t.database, connectionTimeoutMillis: 10_000 } : { connectionTimeoutMillis: 10_000 });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    throw connectError(t ?? { type: 'postgres', host: process.env.PGHOST ?? 'localhost', port: Number(process.env.PGPORT ?? 5432), user: '', password: undefined, database: '', display: 'the PostgreSQL server of PGHOST/PGPORT' }, e);
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
  const cred = t ? clientCredentials(t) : undefined;
  const conn = t ? ['-h', t.host, '-p', String(t.port), '-U', t.user] : [];
  const child = spawn('pg_basebackup', [...conn, '-w', '-D', '-', '-Ft', '-X', 'none', '--checkpoint=fast', '-l', label], {
    env: { ...process.env, ...(cred?.env ?? {}) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 16 * 1024) stderr += d.toString('utf8');
  });
  const tar = new TarWatcher(new Set(['backup_label', 'backup_manifest']));
  const done = new Promise<void>((resolve, reject) => {
    child.on('error', (e) => reject(new PrismError('PG_ARCHIVE_FAILED', `Cannot run pg_basebackup: ${e.message}. Install the PostgreSQL client tools.`)));
    child.on('close', (code) => {
      cred?.dispose();
      if (code === 0) resolve();
      else {
        const msg = stderr.trim().replace(/\s+/g, ' ');
        reject(new PrismError('PG_ARCHIVE_FAILED', `pg_basebackup failed (exit ${code}): ${t?.password ? msg.split(t.password).join('***') : msg}`));
      }
    });
  });
  done.catch(() => {});
  async function* stream(): AsyncIterable<Buffer> {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      tar.push(chunk);
      yield chunk;
    }
  }
  return { stream: stream(), tar, done, kill: () => child.kill('SIGTERM') };
}
