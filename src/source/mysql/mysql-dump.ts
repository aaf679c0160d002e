import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type mysql from 'mysql2/promise';
import { mysqlDriver } from '../db/db-drivers.js';
import { mysqlConnectionConfig, runNative, type DbTarget } from '../db/db-credentials.js';
import type { DumpObjectWriter, DumpResult, DumpSink, DumpedTable, TableFilter } from '../db/db-dump.js';
import { SCHEMA_OBJECT, tableObject, tableSelected } from '../db/db-dump.js';
import { classifyDbError } from '../db/db-errors.js';
import { binlogDumpOptions, capturePosition } from './mysql-binlog-position.js';

const TOOLS = { dump: ['mariadb-dump', 'mysqldump'], client: ['mariadb', 'mysql'], binlog: ['mariadb-binlog', 'mysqlbinlog'] } as const;

/** The MariaDB tool if installed, else the MySQL one (`mariadb-dump` / `mysqldump`, `mariadb` / `mysql`, `mariadb-binlog` / `mysqlbinlog`). */
export function mysqlTool(kind: keyof typeof TOOLS): string {
  const [maria, my] = TOOLS[kind];
  for (const dir of (process.env['PATH'] ?? '').split(':')) {
    try {
      accessSync(join(dir, maria), constants.X_OK);
      return maria;
    } catch {
      /* next */
    }
  }
  return my;
}

export function myIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

export async function myConnect(t: DbTarget): Promise<mysql.Connection> {
  try {
    const c = await (await mysqlDriver()).createConnection(mysqlConnectionConfig(t));
    c.on('error', () => {});
    return c;
  } catch (e) {
    throw classifyDbError(t, e);
  }
}

export async function myListTables(c: mysql.Connection, db: string): Promise<string[]> {
  const [rows] = await c.query<mysql.RowDataPacket[]>(
    `SELECT TABLE_NAME AS n FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME`,
    [db],
  );
  return rows.map((r) => String(r['n']));
}

/**
 * The table's columns that take values, in order: not the generated ones (stored or virtual),
 * which refuse a value in strict mode, but the invisible ones, which `SELECT *` leaves out.
 */
export async function myStoredColumns(c: mysql.Connection, table: string): Promise<string[]> {
  const [rows] = await c.query<mysql.RowDataPacket[]>(
    `SELECT COLUMN_NAME AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?
        AND EXTRA NOT LIKE '%VIRTUAL GENERATED%' AND EXTRA NOT LIKE '%STORED GENERATED%' ORDER BY ORDINAL_POSITION`,
    [table],
  );
  return rows.map((r) => String(r['n']));
}

/** Options that make the dump consistent (one snapshot), deterministic (same data → same bytes) and splittable by line. */
export const MYSQL_DUMP_OPTIONS = [
  '--single-transaction',
  '--quick',
  '--hex-blob',
  '--order-by-primary',
  '--skip-dump-date',
  '--skip-comments',
  '--skip-add-locks',
  '--skip-disable-keys',
  '--no-tablespaces',
  '--default-character-set=utf8mb4',
];

/**
 * Dumps a MySQL/MariaDB database with mariadb-dump (mysqldump) --single-transaction in one run
 * (one snapshot for all tables), splitting its output as it streams: every `INSERT INTO \`t\``
 * line goes to table t's object, everything else (DDL, routines, triggers) to the schema object.
 * With binary logging on, the binlog position of the snapshot is recorded too (`--master-data=2`).
 * `signal` stops the dump (mariadb-dump is ended), whether it streams or waits for a table lock.
 */
export async function dumpMysql(t: DbTarget, filter: TableFilter, sink: DumpSink, signal?: AbortSignal): Promise<DumpResult> {
  signal?.throwIfAborted();
  const c = await myConnect(t);
  let every: string[];
  let serverVersion: string;
  let binlog: { args: string[]; format?: string };
  try {
    every = await myListTables(c, t.database);
    const [v] = await c.query<mysql.RowDataPacket[]>('SELECT VERSION() AS v');
    serverVersion = String(v[0]!['v']);
    binlog = await binlogDumpOptions(c, mysqlTool('dump'), serverVersion);
  } catch (e) {
    throw classifyDbError(t, e);
  } finally {
    await c.end().catch(() => {});
  }
  signal?.throwIfAborted();
  const tables = every.filter((n) => tableSelected(n, filter));
  const ignore = every.filter((n) => !tables.includes(n)).map((n) => `--ignore-table=${t.database}.${n}`);
  const schemaWriter = sink.open(SCHEMA_OBJECT);
  const captured = capturePosition(schemaWriter, binlog.format);
  const dumped = new Map<string, DumpedTable>();
  await runNative(t, mysqlTool('dump'), [...MYSQL_DUMP_OPTIONS, ...binlog.args, '--routines', '--triggers', ...ignore, t.database], {
    what: 'dumping the database',
    signal,
    stdout: (out) =>
      splitMysqlDump(
        out,
        captured.writer,
        (name) => sink.open(tableObject(name)),
        (tbl) => void dumped.set(tbl.name, tbl),
      ),
  });
  const schema = [{ part: 'schema', object: SCHEMA_OBJECT, ...(await schemaWriter.close()) }];
  for (const name of tables) {
    if (dumped.has(name)) continue;
    const w = sink.open(tableObject(name)); // an empty table: an empty object
    dumped.set(name, { name, object: tableObject(name), rows: 0, ...(await w.close()) });
  }
  const position = captured.position();
  return { serverVersion, schema, tables: tables.map((n) => dumped.get(n)!), ...(position ? { binlog: position } : {}) };
}

/**
 * Splits a dump stream by line. `INSERT INTO \`t\` …` lines outside DELIMITER blocks are table
 * data (rows counted); everything else is schema. Tables arrive one after the other.
 */
export async function splitMysqlDump(
  out: Readable,
  schema: DumpObjectWriter | undefined,
  openTable: (name: string) => DumpObjectWriter,
  onTable: (t: DumpedTable) => void,
): Promise<void> {
  let current: { name: string; w: DumpObjectWriter; rows: number } | undefined;
  let inDelimiter = false;
  /** Inside a multi-line INSERT (MariaDB writes one row per line): lines until one ending in ";". */
  let inInsert = false;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const closeCurrent = async (): Promise<void> => {
    if (!current) return;
    const c = current;
    current = undefined;
    onTable({ name: c.name, object: tableObject(c.name), rows: c.rows, ...(await c.w.close()) });
  };
  const line = async (l: Buffer): Promise<void> => {
    if (inInsert && current) {
      current.rows += countTuples(l, 0);
      await current.w.write(l);
      inInsert = !endsStatement(l);
      return;
    }
    const table = !inDelimiter ? insertTable(l) : undefined;
    if (table !== undefined) {
      if (current?.name !== table) {
        await closeCurrent();
        current = { name: table, w: openTable(table), rows: 0 };
      }
      current.rows += countTuples(l, l.indexOf(' VALUES') + 7);
      await current.w.write(l);
      inInsert = !endsStatement(l);
      return;
    }
    if (l.subarray(0, 10).toString('latin1') === 'DELIMITER ') inDelimiter = !/^DELIMITER ;\s*$/.test(l.toString('latin1'));
    await schema?.write(l);
  };
  for await (const chunk of out as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, nl + 1);
      await line(pendingBytes > 0 ? Buffer.concat([...pending, part]) : part);
      pending = [];
      pendingBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      pending.push(chunk.subarray(start));
      pendingBytes += chunk.length - start;
    }
  }
  if (pendingBytes > 0) await line(Buffer.concat(pending));
  await closeCurrent();
}

const INSERT = Buffer.from('INSERT INTO `');

/** The table of an `INSERT INTO \`name\` VALUES` line, or undefined. */
function insertTable(l: Buffer): string | undefined {
  if (l.length < INSERT.length || !l.subarray(0, INSERT.length).equals(INSERT)) return undefined;
  let i = INSERT.length;
  let name = '';
  for (;;) {
    const end = l.indexOf(96, i); // `
    if (end === -1) return undefined;
    name += l.subarray(i, end).toString('utf8');
    if (l[end + 1] === 96) {
      name += '`';
      i = end + 2;
      continue;
    }
    return name;
  }
}

/** Whether a line ends an SQL statement (";" before the newline). */
function endsStatement(l: Buffer): boolean {
  let end = l.length;
  while (end > 0 && (l[end - 1] === 10 || l[end - 1] === 13)) end--;
  return end > 0 && l[end - 1] === 59;
}

/** Row tuples in (part of) an extended INSERT from `from` on: top-level "(" outside quoted strings (dumps escape newlines, so a line never ends inside one). */
export function countTuples(l: Buffer, from: number): number {
  if (from < 0) return 0;
  let n = 0;
  let depth = 0;
  let quote = 0;
  for (let i = from; i < l.length; i++) {
    const b = l[i]!;
    if (quote !== 0) {
      if (b === 92)
        i++; // backslash escape
      else if (b === quote) quote = 0;
    } else if (b === 39 || b === 34) quote = b;
    else if (b === 40) {
      if (depth++ === 0) n++;
    } else if (b === 41) depth--;
  }
  return n;
}
