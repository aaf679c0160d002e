import { statSync } from 'node:fs';
import { PrismError } from '../../errors/index.js';
import { resolveDbTarget } from '../../source/db/db-credentials.js';
import { importMysqlCsv } from '../../source/import/import-mysql.js';
import { importMysqlSql } from '../../source/import/import-mysql-sql.js';
import { importPgCsv } from '../../source/import/import-pg.js';
import { importPgSql } from '../../source/import/import-psql.js';
import type { AppContext } from '../context.js';

export interface ImportOptions {
  source: string;
  target: string;
  format: string;
  table?: string | undefined;
  header?: boolean;
  truncate?: boolean;
}

export interface ImportReport {
  source: string;
  target: string;
  format: 'sql' | 'csv';
  table: string | null;
  rows: number;
  bytes: number;
  duration_ms: number;
  rows_per_second: number;
  /** MySQL scripts: "transaction", or "empty-database" for scripts with DDL. */
  mode: string;
}

/** `import_data` / `prism import`: a SQL script or a CSV file into a database, all or nothing. */
export async function importData(ctx: AppContext, o: ImportOptions): Promise<ImportReport> {
  if (o.format !== 'sql' && o.format !== 'csv') throw new PrismError('INVALID_ARGUMENT', `--format ${o.format}: expected sql or csv.`);
  const target = resolveDbTarget({ url: o.target }, process.env, undefined, '--target');
  if (o.format === 'csv' && !o.table) throw new PrismError('INVALID_ARGUMENT', '--format csv needs --table TABLE (the table the rows go into).');
  if (o.format === 'sql' && (o.table || o.header || o.truncate))
    throw new PrismError('INVALID_ARGUMENT', '--table, --header and --truncate apply to --format csv only.');
  let bytes: number;
  try {
    const st = statSync(o.source);
    if (!st.isFile()) throw new Error('not a regular file');
    bytes = st.size;
  } catch (e) {
    throw new PrismError('INVALID_ARGUMENT', `--source ${o.source} cannot be read: ${(e as Error).message}.`, { source: o.source });
  }
  const started = ctx.clock.now().getTime();
  ctx.logger.info({ event: 'import.start', source: o.source, target: target.shown, format: o.format, table: o.table ?? null }, 'import started');
  try {
    let rows: number;
    let mode = 'transaction';
    const csv = { file: o.source, table: o.table ?? '', header: Boolean(o.header), truncate: Boolean(o.truncate) };
    if (target.type === 'postgres') rows = (o.format === 'csv' ? await importPgCsv(target, csv) : await importPgSql(target, o.source)).rows;
    else if (o.format === 'csv') rows = (await importMysqlCsv(target, csv)).rows;
    else ({ rows, mode } = await importMysqlSql(target, o.source));
    const duration = Math.max(0, ctx.clock.now().getTime() - started);
    const report: ImportReport = {
      source: o.source,
      target: target.shown,
      format: o.format,
      table: o.table ?? null,
      rows,
      bytes,
      duration_ms: duration,
      rows_per_second: duration > 0 ? Math.round((rows * 1000) / duration) : rows,
      mode,
    };
    ctx.logger.info({ event: 'import.done', ...report }, 'import done');
    return report;
  } catch (e) {
    const code = e instanceof PrismError ? e.id : 'ERR_PRISM_INTERNAL';
    ctx.logger.error({ event: 'import.failed', source: o.source, target: target.shown, code, error: (e as Error).message }, 'import failed');
    throw e;
  }
}
