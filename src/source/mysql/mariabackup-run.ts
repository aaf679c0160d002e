import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type mysql from 'mysql2/promise';
import { PrismError, isPrismError } from '../../errors/index.js';
import { withNativeAuth, type DbTarget, type NativeAuth } from '../db/db-credentials.js';
import { classifyDbError, scrubSecret } from '../db/db-errors.js';
import { myConnect } from './mysql-dump.js';

/** The mariabackup of the MariaDB server package (mariadb-backup); MySQL's own servers need Percona XtraBackup instead. */
export const MARIABACKUP = 'mariabackup';

/** What a physical backup needs to know of the server. */
export interface PhysicalServerFacts {
  version: string;
  /** The server's data directory (@@datadir), which mariabackup reads: it must be on this host. */
  datadir: string;
  /** binlog_format, or null when binary logging is off (then the backup has no position to replay from). */
  binlogFormat: string | null;
  serverId: number;
}

/**
 * Version, data directory and binary logging of the server. mariabackup copies the server's files,
 * so it runs on the database host: a data directory that is not here (another host, a container
 * with its own file system) is refused, unless `datadir` names where it is seen from here.
 */
export async function physicalServerFacts(t: DbTarget, datadir?: string): Promise<PhysicalServerFacts> {
  const c = await myConnect(t);
  let row: mysql.RowDataPacket;
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>(
      'SELECT @@GLOBAL.version AS version, @@GLOBAL.datadir AS datadir, @@GLOBAL.log_bin AS log_bin, @@GLOBAL.binlog_format AS format, @@GLOBAL.server_id AS id',
    );
    row = rows[0]!;
  } catch (e) {
    throw classifyDbError(t, e, { what: 'reading the server variables' });
  } finally {
    await c.end().catch(() => {});
  }
  const version = String(row['version']);
  if (!/mariadb/i.test(version)) {
    throw new PrismError(
      'MYSQL_PHYSICAL_FAILED',
      `${t.shown} is MySQL ${version}, not MariaDB: mariabackup backs up MariaDB servers only. Use \`prism backup create\` (logical dumps) for MySQL, or Percona XtraBackup outside prism.`,
      { url: t.shown, version },
    );
  }
  const dir = datadir ?? String(row['datadir']);
  const here = existsSync(dir) && statSync(dir).isDirectory() && (existsSync(join(dir, 'ibdata1')) || existsSync(join(dir, 'mysql')));
  if (!here) {
    throw new PrismError(
      'MYSQL_PHYSICAL_FAILED',
      datadir !== undefined
        ? `--datadir ${dir} is not a MariaDB data directory (no ibdata1, no mysql/ in it): give the directory the server's @@datadir names, as seen from this host.`
        : `The data directory of ${t.shown} (@@datadir = ${dir}) is not on this host: mariabackup copies the server's files, so \`prism mysql basebackup\` runs on the database host (with read access to ${dir}, e.g. as root or mysql). If the directory is mounted elsewhere here, give it with --datadir.`,
      { url: t.shown, datadir: dir },
    );
  }
  return { version, datadir: dir, binlogFormat: Number(row['log_bin']) === 1 ? String(row['format']) : null, serverId: Number(row['id']) };
}

/** The binary log position mariabackup read under its lock (BACKUP STAGE BLOCK_COMMIT). */
export interface PhysicalBinlogPosition {
  file: string;
  position: number;
  gtid?: string;
}

const POSITION = /MySQL binlog position: filename '([^']+)', position '(\d+)'(?:, GTID of the last change '([^']*)')?/;

/** The position of mariabackup's `MySQL binlog position: filename 'bin.000002', position '854', GTID of the last change '0-1-3'` line. */
export function parsePositionLine(line: string): PhysicalBinlogPosition | undefined {
  const m = POSITION.exec(line);
  if (!m) return undefined;
  return { file: m[1]!, position: Number(m[2]), ...(m[3] ? { gtid: m[3] } : {}) };
}

export interface PhysicalBackupRun {
  /** The xbstream archive as mariabackup writes it. */
  stream: AsyncIterable<Buffer>;
  /** Resolves when mariabackup exits 0 (with the position it reported, if binary logging is on); rejects with its error otherwise. */
  done: Promise<{ position: PhysicalBinlogPosition | undefined; version: string | undefined }>;
  /** Stops mariabackup (storing failed). */
  kill(): void;
}

/** Which of mariabackup's lines say what went wrong (not the file list, and not the grants it prints back with password hashes). */
function errorLines(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.replace(/^\[\d\d\] \d{4}-\d\d-\d\d \d\d:\d\d:\d\d /, '').trim())
    .filter((l) => /error|denied|failed|cannot|can't|unknown|not found|fatal/i.test(l) && !/IDENTIFIED BY|Current privileges|^\d+\.GRANT/i.test(l));
  return [...new Set(lines)].slice(0, 8).join(' ');
}

const PRIVILEGES =
  'RELOAD, PROCESS, LOCK TABLES and BINLOG MONITOR (on MariaDB before 10.5: REPLICATION CLIENT), e.g. GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO …';

/**
 * `mariabackup --backup --stream=xbstream` against `t`: one xbstream archive on stdout, copied from
 * `datadir` while the server runs (InnoDB redo copied alongside; a brief BACKUP STAGE BLOCK_COMMIT
 * at the end, where the binary log position is read). Credentials travel in a private defaults file.
 */
export function runPhysicalBackup(t: DbTarget, datadir: string, scratch: string): PhysicalBackupRun {
  let started!: (child: ChildProcessByStdio<null, Readable, Readable>) => void;
  const child = new Promise<ChildProcessByStdio<null, Readable, Readable>>((resolve) => (started = resolve));
  let position: PhysicalBinlogPosition | undefined;
  let version: string | undefined;
  const run = (auth: NativeAuth): Promise<void> => {
    const c = spawn(
      MARIABACKUP,
      // the defaults file must come first; --target-dir only holds mariabackup's own scratch files when streaming
      [...auth.args, '--backup', '--stream=xbstream', `--datadir=${datadir}`, `--target-dir=${scratch}`],
      { env: auth.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    started(c);
    // every copied file is a line: keep the head and the tail, and read the position as it passes
    let head = '';
    let tail = '';
    let partial = '';
    c.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (head.length < 16 * 1024) head += s;
      tail = (tail + s).slice(-16 * 1024);
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        position ??= parsePositionLine(l);
        version ??= /Using server version (\S+)/.exec(l)?.[1];
      }
    });
    return new Promise<void>((resolve, reject) => {
      c.on('error', (e: NodeJS.ErrnoException) =>
        reject(
          new PrismError(
            'MYSQL_PHYSICAL_FAILED',
            e.code === 'ENOENT'
              ? `${MARIABACKUP} is not installed: install the mariadb-backup package (the same version as the server).`
              : `Cannot run ${MARIABACKUP}: ${e.message}.`,
          ),
        ),
      );
      c.on('close', (code, signal) => {
        if (partial) position ??= parsePositionLine(partial);
        if (code === 0) return resolve();
        const text = head.length < 16 * 1024 ? head : `${head}\n${tail}`;
        const said = scrubSecret(errorLines(text) || tail.trim().split('\n').slice(-3).join(' '), t.password);
        const privilege = /privilege|denied/i.test(said);
        reject(
          new PrismError(
            'MYSQL_PHYSICAL_FAILED',
            `mariabackup failed (${signal ? `signal ${signal}` : `exit ${code}`}): ${said || 'no message'}.${privilege ? ` Grant the user ${PRIVILEGES}.` : ''} Nothing was recorded.`,
            { url: t.shown, exit: code, ...(privilege ? { privileges: 'RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR' } : {}) },
          ),
        );
      });
    });
  };
  // the credentials file lives until mariabackup has exited
  const exited = withNativeAuth(t, run);
  const done = exited.then(() => ({ position, version }));
  done.catch(() => {});
  async function* stream(): AsyncIterable<Buffer> {
    // exited settles first only when mariabackup could not be started at all
    const c = await Promise.race([child, exited.then(() => child)]);
    for await (const chunk of c.stdout as AsyncIterable<Buffer>) yield chunk;
  }
  return { stream: stream(), done, kill: () => void child.then((c) => c.kill('SIGTERM')) };
}

/** Errors of reading the server, as PrismErrors (connection and login failures keep their codes). */
export function asPhysicalError(e: unknown, what: string): PrismError {
  if (isPrismError(e)) return e;
  return new PrismError('MYSQL_PHYSICAL_FAILED', `${what} failed: ${(e as Error)?.message ?? String(e)}`);
}
