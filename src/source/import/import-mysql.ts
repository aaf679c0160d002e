import { createReadStream } from 'node:fs';
import type mysql from 'mysql2/promise';
import { mysqlDriver } from '../db/db-drivers.js';
import { PrismError } from '../../errors/index.js';
import { mysqlConnectionConfig, type DbTarget } from '../db/db-credentials.js';
import { readCsvHead } from './import-csv.js';
import { connectError, importError } from '../db/connect-errors.js';
import type { CsvImportOptions } from './import-pg.js';

/** Opens a mysql2 connection; a failure to connect or log in is DB_UNREACHABLE or DB_AUTH_FAILED. */
export async function mysqlConnect(t: DbTarget): Promise<mysql.Connection> {
  try {
    const conn = await (await mysqlDriver()).createConnection({ ...mysqlConnectionConfig(t), charset: 'utf8mb4' });
    conn.on('error', () => {}); // a lost connection surfaces in the pending query
    return conn;
  } catch (e) {
    throw connectError(t, e);
  }
}

export function myIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/**
 * CSV through `LOAD DATA LOCAL INFILE` (streamed from the file) in one InnoDB transaction. With
 * LOCAL the server turns bad values into warnings and goes on, so any warning (truncated value,
 * missing or extra column, duplicate key) rolls the whole load back. --truncate is a DELETE in
 * the same transaction (MySQL's TRUNCATE commits at once).
 */
export async function importMysqlCsv(t: DbTarget, o: CsvImportOptions): Promise<{ rows: number }> {
  const conn = await mysqlConnect(t);
  try {
    await checkTransactional(conn, t, o.table);
    const head = await readCsvHead(o.file);
    const cols = o.header ? ` (${head.columns.map(myIdent).join(', ')})` : '';
    await conn.query("SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'STRICT_ALL_TABLES')");
    await conn.beginTransaction();
    if (o.truncate) await conn.query(`DELETE FROM ${myTable(o.table)}`);
    const sql =
      `LOAD DATA LOCAL INFILE 'prism-import.csv' INTO TABLE ${myTable(o.table)} CHARACTER SET utf8mb4 ` +
      `FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '"' ESCAPED BY '' LINES TERMINATED BY '${head.crlf ? '\\r\\n' : '\\n'}'` +
      `${o.header ? ' IGNORE 1 LINES' : ''}${cols}`;
    const [res] = await conn.query({ sql, infileStreamFactory: () => createReadStream(o.file) });
    const header = res as mysql.ResultSetHeader;
    if (header.warningStatus > 0) {
      const [warnings] = await conn.query('SHOW WARNINGS LIMIT 1');
      const w = (warnings as Array<{ Code: number; Message: string }>)[0];
      const row = /\bat row (\d+)/.exec(w?.Message ?? '');
      const line = row ? Number(row[1]) + (o.header ? 1 : 0) : undefined;
      throw importError(t, new Error(`${w?.Message ?? 'warning'} (MySQL ${w?.Code ?? '?'}; ${header.warningStatus} warning(s) in all)`), line);
    }
    await conn.commit();
    return { rows: header.affectedRows };
  } catch (e) {
    await conn.rollback().catch(() => {});
    throw importError(t, e);
  } finally {
    conn.destroy();
  }
}

function myTable(name: string): string {
  return name.split('.').map(myIdent).join('.');
}

/** The table exists and can roll back (InnoDB); MyISAM and friends cannot take part in all-or-nothing. */
async function checkTransactional(conn: mysql.Connection, t: DbTarget, table: string): Promise<void> {
  const [schema, name] = table.includes('.') ? table.split('.', 2) : [t.database, table];
  const [rows] = await conn.query('SELECT ENGINE AS engine, TABLE_TYPE AS type FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [
    schema,
    name,
  ]);
  const r = (rows as Array<{ engine: string | null; type: string }>)[0];
  if (!r)
    throw new PrismError(
      'IMPORT_FAILED',
      `Import into ${t.shown} failed: table ${table} does not exist. Nothing was imported. Create it first (or check --table).`,
      { target: t.shown, table },
    );
  if (r.type === 'BASE TABLE' && r.engine !== 'InnoDB') {
    throw new PrismError(
      'IMPORT_FAILED',
      `Table ${table} uses the ${r.engine} engine, which cannot roll back, so the import could not be all-or-nothing; nothing was imported. Convert it first: ALTER TABLE ${table} ENGINE=InnoDB.`,
      { target: t.shown, table, engine: r.engine },
    );
  }
}
