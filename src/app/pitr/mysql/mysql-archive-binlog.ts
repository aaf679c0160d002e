import { createReadStream, mkdtempSync, promises as fsp, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { DatabaseConfig } from '../../../config/index.js';
import { PrismError, isPrismError, type ErrorCode } from '../../../errors/index.js';
import type { Repository } from '../../../repo/index.js';
import type { DbTarget } from '../../../source/db/db-credentials.js';
import { redactDbUrl } from '../../../source/db/db-url.js';
import { BinlogScanner, binlogSequence, checkBinlogName, fetchBinaryLog, serverBinaryLogs } from '../../../source/mysql/mysql-binlog.js';
import { beforeFirstNeeded, firstNeeded } from '../../../policy/binlog-retention.js';
import { lockRepository, openRepository, type AppContext } from '../../context.js';
import { compressionSettings } from '../../backups/create-backup.js';
import { configuredTarget } from '../../databases/db-backup.js';
import { storeStream } from '../blob-store.js';
import { listBinlogRecords, putBinlogRecord, readBinlogRecord, type BinlogRecord } from './mysql-binlog-records.js';
import { keptStarts } from './mysql-expire.js';
import { physicalStarts } from './mysql-physical-records.js';

/** Run by cron or a timer: it waits a while for a prune's exclusive lock, then gives up (the next run catches up). */
const LOCK_WAIT_MS = 60_000;

export interface ArchiveBinlogOptions {
  /** One database of backup.databases (default: every MySQL/MariaDB one). */
  db?: string | undefined;
  /** Read the files from this directory (the server's binary log directory) instead of over the network. */
  binlogDir?: string | undefined;
  /** FLUSH BINARY LOGS first, so the file in use is closed and archived too. */
  flush?: boolean;
}

export interface ArchivedBinlog {
  name: string;
  size: number;
  stored: 'new' | 'already archived';
  new_bytes: number;
  last_event_at: string;
}

export interface ArchiveBinlogReport {
  repository: string;
  databases: Array<{
    database: string;
    url: string;
    /** null when the server could not be read (see error). */
    server_id: number | null;
    binlog_format: string | null;
    in_use: string | null;
    files: ArchivedBinlog[];
    /** Closed files the server still has that come before the oldest backup's dump position: no replay reads them, so they are not archived (`mysql expire` removed them, or they predate the backups). */
    not_needed: string[];
    warnings: string[];
    /** Why this database's binary logs were not (all) archived; the files before it that were are listed. */
    error?: ArchiveBinlogError;
  }>;
}

export interface ArchiveBinlogError {
  /** ERR_PRISM_… */
  code: string;
  /** The registry's name of it (MYSQL_BINLOG_FAILED …). */
  name: ErrorCode;
  message: string;
  /** Binary logging is off on the server: there is nothing to archive (not a failure of the service's job). */
  log_bin_off?: true;
}

/** Failures that belong to one server or its configuration: the other servers are archived all the same. */
const SERVER_ERRORS = new Set<ErrorCode>(['MYSQL_BINLOG_FAILED', 'DB_UNREACHABLE', 'DB_AUTH_FAILED', 'DB_TOOL_FAILED', 'PASSWORD_MISSING', 'PASSWORD_SOURCE']);

/**
 * `prism mysql archive-binlog`: copies every closed binary log file the server still has into the
 * repository (content-addressed chunks, one record per file, written last). Files archived before
 * are not read again, so running it often costs one SHOW BINARY LOGS; a file whose size differs
 * from the archived one is refused. Holds a shared lock, as a backup does.
 *
 * Each server is archived on its own: one that cannot be read (binary logging off, unreachable,
 * a refused login, a file that does not check out) gets an `error` in its databases' entries and
 * the others are archived all the same; `--db NAME` fails with that database's error. A failure
 * of the repository stops the run.
 */
export async function archiveBinlogs(ctx: AppContext, o: ArchiveBinlogOptions): Promise<ArchiveBinlogReport> {
  const dbs = mysqlDatabases(ctx, o.db);
  const repo = await openRepository(ctx, { create: true });
  const lock = await lockRepository(ctx, repo, 'shared', 'prism mysql archive-binlog', LOCK_WAIT_MS);
  const temp = mkdtempSync(join(tmpdir(), 'prism-binlog-'));
  const report: ArchiveBinlogReport = { repository: ctx.config.storagePath, databases: [] };
  const failed = (entry: ArchiveBinlogReport['databases'][number], e: unknown): void => {
    const pe = isPrismError(e) ? e : new PrismError('MYSQL_BINLOG_FAILED', `Archiving binary logs failed: ${(e as Error)?.message ?? String(e)}`);
    if (!SERVER_ERRORS.has(pe.code) || o.db !== undefined) throw pe;
    entry.error = { code: pe.id, name: pe.code, message: pe.message, ...(pe.details['log_bin'] === 'OFF' ? { log_bin_off: true as const } : {}) };
    ctx.logger.error(
      { event: 'mysql.binlog.failed', database: entry.database, url: entry.url, code: pe.id, error: pe.message },
      `${entry.database}: ${pe.message}`,
    );
  };
  const entryOf = (db: DatabaseConfig, url: string): ArchiveBinlogReport['databases'][number] => ({
    database: db.name,
    url,
    server_id: null,
    binlog_format: null,
    in_use: null,
    files: [],
    not_needed: [],
    warnings: [],
  });
  try {
    // databases on one server share its binary log: it is listed, flushed and read once
    const servers = new Map<string, Array<{ db: DatabaseConfig; target: DbTarget }>>();
    for (const db of dbs) {
      let target: DbTarget;
      try {
        target = configuredTarget(db);
      } catch (e) {
        const entry = entryOf(db, redactDbUrl(db.url));
        report.databases.push(entry);
        failed(entry, e);
        continue;
      }
      const key = `${target.host}:${target.port}`;
      servers.set(key, [...(servers.get(key) ?? []), { db, target }]);
    }
    // files before the oldest backup's (or physical base backup's) position are read by no replay (and `mysql expire` may have removed them)
    const starts = [...keptStarts(await repo.listManifests()), ...(await physicalStarts(repo))];
    const needed = new Map(dbs.map((d) => [d.name, firstNeeded(starts, d.name)]));
    for (const group of servers.values()) {
      const entries = group.map(({ db, target }) => entryOf(db, target.shown));
      report.databases.push(...entries);
      try {
        await archiveServer(ctx, repo, o, group, entries, needed, temp);
      } catch (e) {
        for (const entry of entries) failed(entry, e);
      }
    }
    return report;
  } catch (e) {
    if (isPrismError(e)) throw e;
    throw new PrismError('MYSQL_BINLOG_FAILED', `Archiving binary logs failed: ${(e as Error)?.message ?? String(e)}`);
  } finally {
    rmSync(temp, { recursive: true, force: true });
    await lock.release().catch(() => {});
  }
}

/** One server's closed files into the repository, for each of its databases (their entries filled in as it goes). */
async function archiveServer(
  ctx: AppContext,
  repo: Repository,
  o: ArchiveBinlogOptions,
  group: ReadonlyArray<{ db: DatabaseConfig; target: DbTarget }>,
  entries: ArchiveBinlogReport['databases'],
  needed: ReadonlyMap<string, ReturnType<typeof firstNeeded>>,
  temp: string,
): Promise<void> {
  const server = await serverBinaryLogs(group[0]!.target, o.flush ?? false);
  for (const entry of entries) {
    entry.server_id = server.serverId;
    entry.binlog_format = server.format;
    entry.in_use = server.logs.at(-1)?.name ?? null;
  }
  for (const [i, { db }] of group.entries()) {
    const purged = purgedBeforeArchived(
      await listBinlogRecords(repo, db.name),
      server.logs.map((l) => l.name),
    );
    if (purged) entries[i]!.warnings.push(purged);
  }
  for (const log of server.logs.slice(0, -1)) {
    checkBinlogName(log.name);
    let fetched: Promise<string> | undefined;
    const source = (): Promise<string> =>
      (fetched ??= o.binlogDir !== undefined ? Promise.resolve(join(resolve(o.binlogDir), log.name)) : fetchBinaryLog(group[0]!.target, log.name, temp));
    try {
      for (const [i, { db }] of group.entries()) {
        if (beforeFirstNeeded(needed.get(db.name)!, log.name)) entries[i]!.not_needed.push(log.name);
        else entries[i]!.files.push(await archiveOne(ctx, repo, db.name, log, server.serverId, source, o.binlogDir));
      }
    } finally {
      if (fetched && o.binlogDir === undefined) await fsp.rm(join(temp, log.name), { force: true }).catch(() => {});
    }
  }
}

async function archiveOne(
  ctx: AppContext,
  repo: Repository,
  database: string,
  log: { name: string; size: number },
  serverId: number,
  source: () => Promise<string>,
  binlogDir: string | undefined,
): Promise<ArchivedBinlog> {
  const existing = await readBinlogRecord(repo, database, log.name);
  if (existing) {
    if (existing.size !== log.size) throw conflict(database, log.name, `${existing.size} bytes archived, ${log.size} on the server`);
    return { name: log.name, size: existing.size, stored: 'already archived', new_bytes: 0, last_event_at: existing.last_event_at };
  }
  const path = await source();
  try {
    const scanner = new BinlogScanner();
    const input = (async function* () {
      for await (const chunk of createReadStream(path)) {
        scanner.update(chunk as Buffer);
        yield chunk as Buffer;
      }
    })();
    const stored = await storeStream(repo, input, compressionSettings(ctx));
    if (stored.size !== log.size)
      throw new PrismError('MYSQL_BINLOG_FAILED', `${log.name} read ${stored.size} bytes, the server lists ${log.size}; not archived.`, { file: log.name });
    const problem = scanner.problem();
    if (problem) throw new PrismError('MYSQL_BINLOG_FAILED', `${log.name} is not a whole binary log file: ${problem}; not archived.`, { file: log.name });
    const record: BinlogRecord = {
      format: 1,
      database,
      name: log.name,
      size: stored.size,
      sha256: stored.sha256,
      content: stored.content,
      first_event_at: new Date(scanner.first! * 1000).toISOString(),
      last_event_at: new Date(scanner.last! * 1000).toISOString(),
      server_id: serverId,
      archived_at: ctx.clock.now().toISOString(),
    };
    if (!(await putBinlogRecord(repo, record))) {
      const other = (await readBinlogRecord(repo, database, log.name))!; // archived meanwhile by another run
      if (other.sha256 !== record.sha256) throw conflict(database, log.name, 'different content');
      return { name: log.name, size: record.size, stored: 'already archived', new_bytes: 0, last_event_at: other.last_event_at };
    }
    ctx.logger.info({ event: 'mysql.binlog.archived', database, name: log.name, size: record.size, new_bytes: stored.newBytes }, `archived ${log.name}`);
    return { name: log.name, size: record.size, stored: 'new', new_bytes: stored.newBytes, last_event_at: record.last_event_at };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' && binlogDir !== undefined) {
      throw new PrismError(
        'MYSQL_BINLOG_FAILED',
        `${log.name} is not in ${resolve(binlogDir)}; give the server's binary log directory (@@log_bin_basename), or leave out --binlog-dir to read over the network.`,
        { file: log.name },
      );
    }
    throw e;
  }
}

function conflict(database: string, name: string, what: string): PrismError {
  return new PrismError(
    'MYSQL_BINLOG_FAILED',
    `${name} of database ${database} is already archived with other content (${what}): the server's binary logs were reset (RESET MASTER) or another server writes the same file names. Refusing to replace it. If the logs were reset on purpose, move mysql/binlog/${encodeURIComponent(database)}/ in the repository aside (restores from backups taken before the reset need it) and archive again.`,
    { database, file: name },
  );
}

/** A warning when files after the newest archived one are gone from the server: the archive has a gap there. */
function purgedBeforeArchived(archived: readonly BinlogRecord[], onServer: readonly string[]): string | undefined {
  const last = archived.at(-1);
  const first = onServer[0];
  if (!last || !first) return undefined;
  const a = binlogSequence(last.name);
  const s = binlogSequence(first);
  if (a.base !== s.base || s.seq <= a.seq + 1) return undefined;
  const width = last.name.length - a.base.length - 1;
  const name = (n: number) => `${a.base}.${String(n).padStart(width, '0')}`;
  return `${name(a.seq + 1)}${s.seq - 1 > a.seq + 1 ? ` … ${name(s.seq - 1)}` : ''} were purged from the server before they were archived: a point-in-time restore cannot replay across them (from the next backup on it can). Archive more often than binlog_expire_logs_seconds.`;
}

function mysqlDatabases(ctx: AppContext, name: string | undefined): DatabaseConfig[] {
  const all = ctx.config.backup.databases.filter((d) => d.type === 'mysql');
  if (name === undefined) {
    if (all.length === 0)
      throw new PrismError('INVALID_ARGUMENT', 'backup.databases names no MySQL/MariaDB database: add one (type "mysql") to config/backup.json.', {
        key: 'backup.databases',
      });
    return all;
  }
  const db = all.find((d) => d.name === name);
  if (!db) {
    throw new PrismError(
      'INVALID_ARGUMENT',
      `"${name}" is not a MySQL/MariaDB database of backup.databases${all.length > 0 ? `; those are: ${all.map((d) => d.name).join(', ')}` : ''}.`,
      { database: name },
    );
  }
  return [db];
}

export interface BinlogListReport {
  repository: string;
  files: Array<Omit<BinlogRecord, 'content'> & { chunks: number }>;
}

/** `prism mysql binlog list`: the archived binary log files, per database in log order. */
export async function listBinlogs(ctx: AppContext, db?: string): Promise<BinlogListReport> {
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', 'prism mysql binlog list', LOCK_WAIT_MS);
  try {
    const records = await listBinlogRecords(repo, db);
    return { repository: ctx.config.storagePath, files: records.map(({ content, ...rest }) => ({ ...rest, chunks: content.length })) };
  } finally {
    await lock.release().catch(() => {});
  }
}
