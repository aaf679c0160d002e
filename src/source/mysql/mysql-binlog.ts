import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type mysql from 'mysql2/promise';
import { PrismError, isPrismError } from '../../errors/index.js';
import { runNative, type DbTarget } from '../db/db-credentials.js';
import { classifyDbError } from '../db/db-errors.js';
import { toolHelp } from './mysql-binlog-position.js';
import { myConnect, myIdent, myListTables, mysqlTool } from './mysql-dump.js';

/** One binary log file the server has: the last of the list is the one it writes to. */
export interface BinaryLog {
  name: string;
  size: number;
}

export interface ServerBinaryLogs {
  logs: BinaryLog[];
  /** binlog_format of the server now (ROW, MIXED, STATEMENT). */
  format: string;
  serverId: number;
}

/**
 * The server's binary log files (SHOW BINARY LOGS: BINLOG MONITOR or REPLICATION CLIENT
 * privilege), after FLUSH BINARY LOGS when `flush` (RELOAD privilege): that closes the file in
 * use, so everything written until now is in closed files. Binary logging off is an error.
 */
export async function serverBinaryLogs(t: DbTarget, flush: boolean): Promise<ServerBinaryLogs> {
  const c = await myConnect(t);
  let step = 'reading @@log_bin';
  try {
    const [v] = await c.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.log_bin AS on_, @@GLOBAL.binlog_format AS format, @@GLOBAL.server_id AS id');
    if (Number(v[0]!['on_']) !== 1) {
      throw new PrismError(
        'MYSQL_BINLOG_FAILED',
        `Binary logging is off on ${t.shown} (log_bin = OFF): there is nothing to archive. Set log_bin (and binlog_format = ROW) in the server's configuration, restart it and take a new backup.`,
        { url: t.shown, log_bin: 'OFF' },
      );
    }
    if (flush) {
      step = 'FLUSH BINARY LOGS';
      await c.query('FLUSH BINARY LOGS');
    }
    step = 'SHOW BINARY LOGS';
    const [rows] = await c.query<mysql.RowDataPacket[]>('SHOW BINARY LOGS');
    return {
      logs: rows.map((r) => ({ name: String(r['Log_name']), size: Number(r['File_size']) })),
      format: String(v[0]!['format']),
      serverId: Number(v[0]!['id']),
    };
  } catch (e) {
    if (isPrismError(e)) throw e;
    const cl = classifyDbError(t, e, { what: step });
    if (cl.code !== 'DB_TOOL_FAILED') throw cl;
    throw new PrismError(
      'MYSQL_BINLOG_FAILED',
      `${step} on ${t.shown} failed: ${(e as Error).message}${/denied/i.test((e as Error).message) ? ` (grant the user ${flush ? 'RELOAD and ' : ''}BINLOG MONITOR, or REPLICATION CLIENT on MySQL)` : ''}.`,
      { url: t.shown, step },
    );
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * Copies one binary log file from the server into `dir` with `mariadb-binlog
 * --read-from-remote-server --raw` (the replication protocol: REPLICATION SLAVE privilege, no
 * access to the server's files). Returns the local path.
 */
export async function fetchBinaryLog(t: DbTarget, name: string, dir: string): Promise<string> {
  checkBinlogName(name);
  try {
    await runNative(t, mysqlTool('binlog'), ['--read-from-remote-server', '--raw', `--result-file=${dir}/`, name], { what: `reading binary log ${name}` });
  } catch (e) {
    if (isPrismError(e) && e.code === 'DB_TOOL_FAILED') {
      const denied = /denied|REPLICATION SLAVE/i.test(e.message);
      throw new PrismError(
        'MYSQL_BINLOG_FAILED',
        `${e.message}${denied ? " (grant the user REPLICATION SLAVE, or archive from the server's directory with --binlog-dir)" : ''}`,
        { url: t.shown, file: name },
      );
    }
    throw e;
  }
  return join(dir, name);
}

/** A binary log file name as the server writes them (`<basename>.<number>`), never a path. */
export function checkBinlogName(name: string): void {
  if (!/^[\w.-]+\.\d{6,}$/.test(name) || name.startsWith('.')) {
    throw new PrismError('MYSQL_BINLOG_FAILED', `"${name}" is not a binary log file name (like mysql-bin.000042).`, { file: name });
  }
}

export { binlogSequence } from '../../core/binlog-name.js';

const MAGIC = Buffer.from([0xfe, 0x62, 0x69, 0x6e]);
const HEADER = 19;

/**
 * Walks the event headers of a binary log file as it streams past (timestamp, size): checks that
 * the file starts with the binlog magic and that the events chain exactly to its end (a whole,
 * closed file), and notes the time of its first and last event.
 */
export class BinlogScanner {
  private seen = 0;
  private next = 4;
  private readonly header = Buffer.alloc(HEADER);
  private have = 0;
  private readonly magic = Buffer.alloc(4);
  private broken: string | undefined;
  first: number | undefined;
  last: number | undefined;
  events = 0;

  update(chunk: Buffer): void {
    const base = this.seen;
    this.seen += chunk.length;
    if (base < 4) chunk.copy(this.magic, base, 0, Math.min(chunk.length, 4 - base));
    while (this.broken === undefined) {
      const at = this.next + this.have - base;
      if (at >= chunk.length) return;
      const n = Math.min(HEADER - this.have, chunk.length - at);
      chunk.copy(this.header, this.have, at, at + n);
      this.have += n;
      if (this.have < HEADER) return;
      const size = this.header.readUInt32LE(9);
      if (size < HEADER) {
        this.broken = `the event at offset ${this.next} claims ${size} bytes`;
        return;
      }
      const when = this.header.readUInt32LE(0);
      this.first ??= when;
      this.last = when;
      this.events++;
      this.next += size;
      this.have = 0;
    }
  }

  /** Why the file is not a whole binary log, or undefined when it is. */
  problem(): string | undefined {
    if (this.seen < 4 || !this.magic.equals(MAGIC)) return 'it does not start with the binary log magic bytes';
    if (this.broken) return this.broken;
    if (this.events === 0) return 'it holds no events';
    if (this.have !== 0 || this.next !== this.seen) return `it ends at byte ${this.seen} inside an event (the next event would start at ${this.next})`;
    return undefined;
  }
}

export interface ReplayOptions {
  /** Local copies of the binary log files, in order. */
  files: readonly string[];
  /** Offset in the first file to start at (the backup's position). */
  startPosition: number;
  /** Events time-stamped at or after this second are not replayed (binary log times have whole seconds). */
  stopAt: Date;
  /** The database whose events are replayed (its name in the binary log). */
  database: string;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

export interface ReplayResult {
  /** Statements and row events replayed. */
  events: number;
  /** Time of the last replayed event (UTC), or null when none was. */
  last_event_at: string | null;
  stop_datetime: string;
}

/** The `--stop-datetime` value for a target time: its whole second, in UTC (the tool runs with TZ=UTC). */
export function stopDatetime(at: Date): string {
  return at.toISOString().slice(0, 19).replace('T', ' ');
}

/** MariaDB's per-transaction GTID, server id and domain assignments: replayed, they would rewind the server's GTID position. */
const GTID_LINE = /^\/\*M!100001 SET @@session\.(?:gtid_seq_no|server_id|gtid_domain_id)=\d+\*\/\/\*!\*\/;$/;
/** mariadb-binlog's event header comment: `#yymmdd hh:mm:ss server id …` with the hour space-padded (`# 261202  0:24:39`). */
const EVENT_LINE = /^#(\d\d)(\d\d)(\d\d) +(\d{1,2}):(\d\d):(\d\d) server id \d+ +end_log_pos \d+ .*?\t(\w+)/;

/** The type and time (ISO, UTC) of an event header line of mariadb-binlog's output; undefined for any other line. */
export function parseEventLine(line: string): { type: string; at: string } | undefined {
  const m = EVENT_LINE.exec(line);
  return m ? { type: m[7]!, at: `20${m[1]}-${m[2]}-${m[3]}T${m[4]!.padStart(2, '0')}:${m[5]}:${m[6]}Z` } : undefined;
}

/**
 * Replays binary log events of one database into `t`: `mariadb-binlog --database=DB
 * [--rewrite-db=DB->TARGET] --start-position=P --stop-datetime=T FILES… | mariadb --binary-mode`.
 * The replayed transactions get new GTIDs of the target server (the original GTID and server id
 * lines are left out). Rejects when either tool fails; what ran before the failure is committed
 * (the caller undoes it).
 */
export async function replayBinlog(t: DbTarget, o: ReplayOptions): Promise<ReplayResult> {
  const tool = mysqlTool('binlog');
  const args = ['--no-defaults', `--database=${o.database}`];
  if (t.database !== o.database) args.push(`--rewrite-db=${o.database}->${t.database}`);
  args.push(`--start-position=${o.startPosition}`, `--stop-datetime=${stopDatetime(o.stopAt)}`);
  if (/--skip-gtids\b/.test(toolHelp(tool))) args.push('--skip-gtids'); // MySQL: GTID_NEXT of executed transactions would skip them silently
  args.push(...o.files);
  const child = spawn(tool, args, { env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 16 * 1024) stderr += s;
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, error }));
    child.on('close', (code) => resolve({ code }));
  });
  const filter = new ReplayFilter(o.database, t.database !== o.database);
  try {
    // a refused statement ends the client's input before it is sent: the client stops, the caller undoes
    await runNative(t, mysqlTool('client'), ['--batch', '--binary-mode', t.database], {
      stdin: (inp) => pipeline(child.stdout, filter, inp),
      what: 'replaying the binary log',
    });
  } catch (e) {
    child.kill('SIGTERM');
    const x = await exited;
    if (x.error) throw toolMissing(tool, x.error);
    throw filter.refused ?? e;
  }
  const x = await exited;
  if (x.error) throw toolMissing(tool, x.error);
  if (x.code !== 0)
    throw new PrismError('MYSQL_BINLOG_FAILED', `${tool} failed reading the archived binary logs: ${stderr.trim().slice(0, 600) || `exit ${x.code}`}`, {
      tool,
    });
  return { events: filter.events, last_event_at: filter.lastEventAt, stop_datetime: stopDatetime(o.stopAt) };
}

function toolMissing(tool: string, e: Error): PrismError {
  return new PrismError(
    'DB_TOOL_FAILED',
    (e as NodeJS.ErrnoException).code === 'ENOENT'
      ? `${tool} is not installed; install the mariadb-client package.`
      : `${tool} could not be started: ${e.message}`,
    { tool },
  );
}

const DATABASE_DDL = /^\s*(?:\/\*.*?\*\/\s*)*(?:create|drop|alter)\s+(?:database|schema)\b/i;

/**
 * Passes the replay SQL through line by line: drops the GTID assignment lines, counts replayed
 * events, notes the last one's time, and stops the replay (an error, the statement never sent)
 * before a statement it must not run: one that creates, drops or alters a database (it would
 * take the safety copies with it, or hit another database), or, when the events are replayed
 * into a database of another name, one that names the original database (`shop.t`), since
 * --rewrite-db changes only the default database and the statement would change the original.
 */
class ReplayFilter extends Transform {
  events = 0;
  lastEventAt: string | null = null;
  /** Why the replay was stopped before a statement, if it was. */
  refused: PrismError | undefined;
  private rest = '';
  private inQuery = false;
  private statement: string[] = [];
  private readonly qualified: RegExp | undefined;

  constructor(
    private readonly source: string,
    rewriting: boolean,
  ) {
    super();
    const name = source.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.qualified = rewriting ? new RegExp(`(?:^|[^\\w$])(?:\`${name.replace(/`/g, '``')}\`|${name})\\s*\\.\\s*[\`\\w$]`) : undefined;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const text = this.rest + chunk.toString('latin1');
    const end = text.lastIndexOf('\n');
    this.rest = text.slice(end + 1);
    try {
      if (end >= 0) this.push(this.lines(text.slice(0, end)), 'latin1');
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (this.rest) this.push(this.lines(this.rest), 'latin1');
      if (this.statement.length > 0) this.push(Buffer.from(this.statement.map((l) => l + '\n').join(''), 'latin1'));
      done();
    } catch (e) {
      done(e as Error);
    }
  }

  /** Complete lines (without their newlines) → what to send on. */
  private lines(text: string): Buffer {
    const out: string[] = [];
    for (const line of text.split('\n')) {
      if (this.inQuery) {
        if (line === '/*!*/;') {
          this.check(this.statement);
          out.push(...this.statement, line);
          this.statement = [];
          this.inQuery = false;
        } else if (line.endsWith('/*!*/;') && this.statement.length === 0) {
          out.push(line); // `use`, SET TIMESTAMP and other session settings before the statement
        } else {
          this.statement.push(line);
        }
        continue;
      }
      if (line.length < 120 && GTID_LINE.test(line)) continue;
      if (line.startsWith('#') && !line.startsWith('#Q>')) {
        const ev = parseEventLine(line);
        if (ev && (ev.type === 'Query' || /^(Write|Update|Delete)_rows/.test(ev.type))) {
          this.events++;
          this.lastEventAt = ev.at;
          this.inQuery = ev.type === 'Query';
        }
      }
      out.push(line);
    }
    return Buffer.from(out.map((l) => l + '\n').join(''), 'latin1');
  }

  private check(statement: readonly string[]): void {
    this.refused = this.refusal(statement);
    if (this.refused) throw this.refused;
  }

  private refusal(statement: readonly string[]): PrismError | undefined {
    const text = statement.join('\n');
    const shown = () => Buffer.from(text.trim().replace(/\s+/g, ' ').slice(0, 120), 'latin1').toString('utf8');
    if (DATABASE_DDL.test(text)) {
      return new PrismError(
        'DB_RESTORE_FAILED',
        `The binary log holds \`${shown()}\` (at ${this.lastEventAt}) before the target time: statements that create, drop or alter a database are not replayed. Restore to a time before it, or from a backup taken after it.`,
        { statement: shown() },
      );
    }
    if (this.qualified?.test(text)) {
      return new PrismError(
        'DB_RESTORE_FAILED',
        `The binary log holds \`${shown()}\` (at ${this.lastEventAt}), which names database ${this.source} itself: replayed into a database of another name it would change ${this.source}. Restore into a database named ${this.source} (on another server if need be), or to a time before it.`,
        { statement: shown() },
      );
    }
    return undefined;
  }
}

/** The base tables of the target database now. */
export async function mysqlTableNames(t: DbTarget): Promise<string[]> {
  const c = await myConnect(t);
  try {
    return await myListTables(c, t.database);
  } catch (e) {
    throw classifyDbError(t, e);
  } finally {
    await c.end().catch(() => {});
  }
}

/** Drops tables (those a failed replay created). */
export async function dropMysqlTables(t: DbTarget, tables: readonly string[]): Promise<void> {
  if (tables.length === 0) return;
  const c = await myConnect(t);
  try {
    await c.query('SET FOREIGN_KEY_CHECKS = 0');
    for (const name of tables) await c.query(`DROP TABLE IF EXISTS ${myIdent(name)}`);
  } catch (e) {
    throw classifyDbError(t, e, { what: 'dropping the tables the replay created' });
  } finally {
    await c.end().catch(() => {});
  }
}
