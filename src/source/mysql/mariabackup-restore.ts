import { spawn, spawnSync } from 'node:child_process';
import { chownSync, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type TransformCallback } from 'node:stream';
import { PrismError } from '../../errors/index.js';
import { runNative, type DbTarget } from '../db/db-credentials.js';
import { prepareEmptyDir, runTool } from '../db/run-tool.js';
import { MARIABACKUP } from './mariabackup-run.js';
import { parseEventLine, stopDatetime } from './mysql-binlog.js';
import { mysqlTool } from './mysql-dump.js';

/** The data directory of a server to be restored: new, or an existing empty directory (mode 0750). */
export function preparePhysicalDir(dir: string): void {
  prepareEmptyDir(
    dir,
    0o750,
    "a physical restore writes a whole data directory and needs an empty or new one (never the live server's: stop it and move its directory aside first)",
  );
}

const MISSING = (cmd: string) => `${cmd} is not installed: install the mariadb-backup package.`;

/** Unpacks an xbstream archive into `dir` with `mbstream -x`. */
export function extractXbstream(dir: string, data: AsyncIterable<Buffer>): Promise<void> {
  return runTool('mbstream', ['-x', '-C', dir], {
    code: 'MYSQL_PHYSICAL_FAILED',
    what: `Unpacking the base backup into ${dir}`,
    missing: MISSING('mbstream'),
    input: data,
  });
}

/** `mariabackup --prepare`: applies the InnoDB redo copied during the backup, so the directory is consistent at the backup's end. */
export function preparePhysical(dir: string): Promise<void> {
  return runTool(MARIABACKUP, ['--prepare', `--target-dir=${dir}`], { code: 'MYSQL_PHYSICAL_FAILED', what: `Preparing ${dir}`, missing: MISSING(MARIABACKUP) });
}

/** As root: gives the directory and everything in it to the `mysql` user (the server's), when there is one. Returns the owner given, or null. */
export function chownToMysql(dir: string): string | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string) => spawnSync('id', [flag, 'mysql'], { encoding: 'utf8' });
  const u = id('-u');
  const g = id('-g');
  if (u.status !== 0 || g.status !== 0) return null;
  const uid = Number(u.stdout.trim());
  const gid = Number(g.stdout.trim());
  const walk = (p: string): void => {
    chownSync(p, uid, gid);
    if (lstatSync(p).isDirectory()) for (const n of readdirSync(p)) walk(join(p, n));
  };
  walk(dir);
  return 'mysql';
}

export interface ServerReplayResult {
  /** Statements and row events replayed. */
  events: number;
  /** Time of the last replayed event (UTC), or null when none was. */
  last_event_at: string | null;
  stop_datetime: string;
}

/**
 * Replays binary log files into a whole server, every database: `mariadb-binlog
 * --start-position=P --stop-datetime=T FILES… | mariadb --binary-mode`. This is the server's own
 * history on a copy of its data directory, so the transactions keep their GTIDs and server id.
 */
export async function replayIntoServer(t: DbTarget, o: { files: readonly string[]; startPosition: number; stopAt: Date }): Promise<ServerReplayResult> {
  const binlog = mysqlTool('binlog');
  const args = ['--no-defaults', `--start-position=${o.startPosition}`, `--stop-datetime=${stopDatetime(o.stopAt)}`, ...o.files];
  const child = spawn(binlog, args, { env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    if (stderr.length < 16 * 1024) stderr += s;
  });
  const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.on('error', (error) => resolve({ code: null, error }));
    child.on('close', (code) => resolve({ code }));
  });
  const counter = new EventCounter();
  try {
    await runNative(t, mysqlTool('client'), ['--batch', '--binary-mode', t.database], {
      stdin: (inp) => pipeline(child.stdout, counter, inp),
      what: 'replaying the binary log',
    });
  } catch (e) {
    child.kill('SIGTERM');
    await exited;
    throw e;
  }
  const x = await exited;
  if (x.error || x.code !== 0)
    throw new PrismError(
      'MYSQL_BINLOG_FAILED',
      `${binlog} failed reading the archived binary logs: ${x.error?.message ?? (stderr.trim().slice(0, 600) || `exit ${x.code}`)}`,
      {
        tool: binlog,
      },
    );
  return { events: counter.events, last_event_at: counter.last, stop_datetime: stopDatetime(o.stopAt) };
}

/** Passes the SQL through, counting replayed events (query and row events) and the last one's time. */
class EventCounter extends Transform {
  events = 0;
  last: string | null = null;
  private rest = '';

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const text = this.rest + chunk.toString('latin1');
    const end = text.lastIndexOf('\n');
    this.rest = text.slice(end + 1);
    for (const line of text.slice(0, Math.max(end, 0)).split('\n')) {
      if (!line.startsWith('#') || line.startsWith('#Q>')) continue;
      const ev = parseEventLine(line);
      if (ev && (ev.type === 'Query' || /^(Write|Update|Delete)_rows/.test(ev.type))) {
        this.events++;
        this.last = ev.at;
      }
    }
    done(null, chunk);
  }
}
