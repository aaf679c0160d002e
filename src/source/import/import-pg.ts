import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { pgCopyStreams, pgDriver } from '../db/db-drivers.js';
import { pgClientConfig, type DbTarget } from '../db/db-credentials.js';
import { readCsvHead } from './import-csv.js';
import { connectError, importError } from '../db/connect-errors.js';

export interface CsvImportOptions {
  file: string;
  table: string;
  header: boolean;
  truncate: boolean;
}

/** Opens a pg client; a failure to connect or log in is DB_UNREACHABLE or DB_AUTH_FAILED. */
export async function pgConnect(t: DbTarget): Promise<pg.Client> {
  const client = new (await pgDriver()).Client({ ...pgClientConfig(t), application_name: 'prism-import' });
  client.on('error', () => {}); // a lost connection surfaces in the pending query
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => {});
    throw connectError(t, e);
  }
  return client;
}

/** "schema.table" or "table" as a quoted identifier. */
export function pgTable(name: string): string {
  return name.split('.').map(pgIdent).join('.');
}

export function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * CSV through `COPY … FROM STDIN` in one transaction (with --truncate, TRUNCATE in the same
 * one), streamed from the file. Any error rolls everything back.
 */
export async function importPgCsv(t: DbTarget, o: CsvImportOptions): Promise<{ rows: number }> {
  const client = await pgConnect(t);
  try {
    await client.query('BEGIN');
    if (o.truncate) await client.query(`TRUNCATE ${pgTable(o.table)}`);
    const cols = o.header ? ` (${(await readCsvHead(o.file)).columns.map(pgIdent).join(', ')})` : '';
    const { from: copyFrom } = await pgCopyStreams();
    const copy = client.query(copyFrom(`COPY ${pgTable(o.table)}${cols} FROM STDIN WITH (FORMAT csv${o.header ? ', HEADER true' : ''})`));
    await pipeline(createReadStream(o.file), copy);
    await client.query('COMMIT');
    return { rows: copy.rowCount };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    throw importError(t, e, copyLine(e));
  } finally {
    await client.end().catch(() => {});
  }
}

/** The input line of a COPY error ("COPY t, line 3, column b: …"). */
function copyLine(e: unknown): number | undefined {
  const m = /\bline (\d+)/.exec((e as { where?: string })?.where ?? '');
  return m ? Number(m[1]) : undefined;
}
