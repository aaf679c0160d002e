import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import type mysql from 'mysql2/promise';
import { PrismError } from '../../errors/index.js';
import { withNativeAuth, type DbTarget } from '../db/db-credentials.js';
import { clean, importError } from '../db/connect-errors.js';
import { isDroppable, scanMysqlScript } from './import-mysql-script.js';
import { myIdent, mysqlConnect } from './import-mysql.js';

export type MysqlScriptMode = 'transaction' | 'empty-database';

/**
 * A SQL script through the mariadb/mysql client, all-or-nothing as far as MySQL allows:
 * - a script without statements that commit implicitly runs in one transaction
 *   (autocommit off); the first error ends the client and the server rolls back;
 * - a script with DDL (MySQL commits each DDL statement at once) is accepted only into an empty
 *   database, and on failure everything it created is dropped again.
 * Before committing, prism waits for a marker query after the script: a warning (a value
 * truncated, a duplicate skipped) rolls back as an error does.
 */
export async function importMysqlSql(t: DbTarget, file: string): Promise<{ rows: number; mode: MysqlScriptMode }> {
  const scan = await scanMysqlScript(file);
  const conn = await mysqlConnect(t);
  try {
    let mode: MysqlScriptMode = 'transaction';
    if (scan.commits) {
      const objects = await objectNames(conn, t.database);
      if (objects.length > 0) {
        throw new PrismError(
          'IMPORT_FAILED',
          `Line ${scan.commits.line} (${scan.commits.statement}) commits implicitly in MySQL, so this script can be imported all-or-nothing only into an empty database, and ${t.database} holds ${objects.length} table(s)/view(s)/routine(s). Nothing was imported. Import into a new empty database, or import schema and data separately (the data as a script of INSERTs, or as CSV).`,
          { target: t.shown, line: scan.commits.line },
        );
      }
      mode = 'empty-database';
    }
    try {
      return { rows: await runClient(t, file, mode), mode };
    } catch (e) {
      if (mode !== 'empty-database' || !(e instanceof PrismError)) throw e;
      await dropAll(conn, t.database).catch(() => {});
      throw new PrismError(
        e.code,
        e.message.replace('(the transaction was rolled back)', `(everything the script had created in ${t.database} was dropped again)`),
        e.details,
      );
    }
  } finally {
    conn.destroy();
  }
}

async function objectNames(conn: mysql.Connection, db: string): Promise<string[]> {
  const [rows] = await conn.query(
    'SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? UNION ALL SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? UNION ALL SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?',
    [db, db, db],
  );
  return (rows as Array<{ n: string }>).map((r) => r.n);
}

/** Returns the database the script created into to empty (it was empty before). */
async function dropAll(conn: mysql.Connection, db: string): Promise<void> {
  await conn.query('SET FOREIGN_KEY_CHECKS = 0');
  const [tables] = await conn.query('SELECT TABLE_NAME AS n, TABLE_TYPE AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [db]);
  for (const r of tables as Array<{ n: string; t: string }>)
    await conn.query(`DROP ${r.t === 'VIEW' ? 'VIEW' : 'TABLE'} IF EXISTS ${myIdent(db)}.${myIdent(r.n)}`);
  const [routines] = await conn.query('SELECT ROUTINE_NAME AS n, ROUTINE_TYPE AS t FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ?', [db]);
  for (const r of routines as Array<{ n: string; t: string }>)
    await conn.query(`DROP ${r.t === 'FUNCTION' ? 'FUNCTION' : 'PROCEDURE'} IF EXISTS ${myIdent(db)}.${myIdent(r.n)}`);
  const [events] = await conn.query('SELECT EVENT_NAME AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ?', [db]);
  for (const r of events as Array<{ n: string }>) await conn.query(`DROP EVENT IF EXISTS ${myIdent(db)}.${myIdent(r.n)}`);
}

function clientBinary(): string {
  for (const name of ['mariadb', 'mysql']) for (const dir of (process.env.PATH ?? '').split(delimiter)) if (existsSync(join(dir, name))) return join(dir, name);
  throw new PrismError('IMPORT_FAILED', 'Neither the mariadb nor the mysql client is installed; install it (apt-get install mariadb-client).');
}

interface ClientState {
  rows: number;
  warning: { message: string; statement: string } | undefined;
  statement: string;
}

async function runClient(t: DbTarget, file: string, mode: MysqlScriptMode): Promise<number> {
  const marker = `prism-import-${randomBytes(8).toString('hex')}`;
  const binary = clientBinary();
  // host, port and protocol (TCP, or the socket of ?host=/dir) come from the credentials file
  return withNativeAuth(t, async (auth) => {
    const child = spawn(
      binary,
      [...auth.args, '--batch', '--binary-mode', '--unbuffered', '--show-warnings', '-vv', '--default-character-set=utf8mb4', t.database],
      { env: auth.env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const state: ClientState = { rows: 0, warning: undefined, statement: '' };
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString('utf8');
    });
    child.stdin.on('error', () => {}); // the client stops reading after an error: its exit says why
    const closed = new Promise<number>((resolve, reject) => {
      child.on('error', (e) => reject(new PrismError('IMPORT_FAILED', `Cannot run the MySQL client: ${e.message}.`)));
      child.on('close', (c) => resolve(c ?? 1));
    });
    const reachedEnd = watchOutput(child, state, marker);
    // one line first, so the client's line numbers are the file's plus one
    const setup = `SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'STRICT_ALL_TABLES')${mode === 'transaction' ? ', SESSION autocommit = 0' : ''};\n`;
    const fed = feed(child, closed, file, setup, `\nSELECT CONCAT('prism-import-', '${marker.slice('prism-import-'.length)}') AS prism_end;\n`).catch(() => {});
    const first = await Promise.race([reachedEnd.then(() => 'end' as const), closed.then(() => 'closed' as const)]);
    await fed;
    if (first === 'end' && !state.warning) {
      child.stdin.end('COMMIT;\n');
      const code = await closed;
      if (code === 0) return state.rows;
    } else if (first === 'end') {
      child.stdin.end('ROLLBACK;\n');
      await closed;
      throw importError(t, new Error(`${state.warning!.message} in the statement \`${state.warning!.statement.slice(0, 80)}\``));
    } else child.stdin.destroy();
    const code = await closed;
    const m = /^ERROR (\d+) \(([0-9A-Z]+)\)(?: at line (\d+))?[^:]*: (.*)$/m.exec(stderr);
    if (m)
      throw importError(
        t,
        Object.assign(new Error(`${m[4]} (MySQL ${m[1]})`), { code: m[1] === '2013' || m[1] === '2006' ? 'PROTOCOL_CONNECTION_LOST' : undefined }),
        m[3] ? Math.max(1, Number(m[3]) - 1) : undefined,
      );
    throw importError(t, new Error(clean(stderr, t) || `the MySQL client exited with ${code}`));
  });
}

/** Reads the client's -vv output: statement echoes between dashes, then "Query OK, N rows affected", warnings. */
function watchOutput(child: ChildProcessWithoutNullStreams, state: ClientState, marker: string): Promise<void> {
  return new Promise((resolve) => {
    let echo = false;
    let echoFirst = false;
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l === '--------------') {
        echo = !echo;
        echoFirst = echo;
        return;
      }
      if (echo) {
        if (echoFirst) state.statement = l;
        echoFirst = false;
        return;
      }
      if (l === marker) return resolve();
      const ok = /^Query OK, (\d+) rows? affected/.exec(l);
      if (ok) state.rows += Number(ok[1]);
      const w = /^Warning \(Code \d+\): (.*)$/.exec(l);
      if (w && !state.warning) state.warning = { message: w[1]!, statement: state.statement };
    });
  });
}

/**
 * Streams the script to the client byte for byte (blobs in a dump are raw bytes), with
 * backpressure; mysqldump's LOCK/KEYS lines go as empty lines so line numbers stay the file's.
 */
async function feed(child: ChildProcessWithoutNullStreams, closed: Promise<number>, file: string, setup: string, trailer: string): Promise<void> {
  const write = async (b: Buffer | string): Promise<void> => {
    if (!child.stdin.write(b)) await Promise.race([new Promise<void>((r) => child.stdin.once('drain', r)), closed]);
  };
  await write(setup);
  let carry: Buffer = Buffer.alloc(0);
  for await (const data of createReadStream(file, { highWaterMark: 256 * 1024 }) as AsyncIterable<Buffer>) {
    if (child.exitCode !== null) return;
    const buf = carry.length > 0 ? Buffer.concat([carry, data]) : data;
    const lastNl = buf.lastIndexOf(0x0a);
    if (lastNl < 0) {
      carry = buf;
      continue;
    }
    await write(dropHints(buf.subarray(0, lastNl + 1)));
    carry = Buffer.from(buf.subarray(lastNl + 1));
  }
  if (carry.length > 0) await write(dropHints(carry));
  await write(trailer);
}

/** Blanks the droppable lines of a block of whole lines (only lines that start like one are decoded). */
function dropHints(block: Buffer): Buffer {
  let out: Buffer | undefined;
  let pos = 0;
  while (pos < block.length) {
    let end = block.indexOf(0x0a, pos);
    if (end < 0) end = block.length;
    const first = block[pos];
    // L(OCK), U(NLOCK), /(*!40000 …): look closer only at short lines starting so
    if (
      (first === 0x4c || first === 0x55 || first === 0x2f || first === 0x6c || first === 0x75) &&
      end - pos < 4096 &&
      isDroppable(block.toString('latin1', pos, end))
    ) {
      out ??= Buffer.from(block);
      out.fill(0x20, pos, end); // spaces: the line stays, empty
    }
    pos = end + 1;
  }
  return out ?? block;
}
