import type { Command } from 'commander';
import { formatCount } from '../../core/format.js';
import { cliContext } from '../context.js';
import { out, printJson } from '../output.js';
import { runAction } from '../run-action.js';

interface ImportFlags {
  source: string;
  target: string;
  format: string;
  table?: string;
  header?: boolean;
  truncate?: boolean;
  json?: boolean;
}

/** `prism import` and the `import_data` command: the same options and code. */
export function configureImport(cmd: Command): Command {
  return cmd
    .description('imports a SQL script or a CSV file into PostgreSQL or MySQL/MariaDB, all or nothing')
    .requiredOption('--source <file>', 'the SQL or CSV file')
    .requiredOption('--target <url>', 'mysql://user:password@host[:port]/db or postgres://user:password@host[:port]/db')
    .requiredOption('--format <format>', 'sql or csv')
    .option('--table <table>', 'csv: the table the rows go into')
    .option('--header', 'csv: the first line names the columns')
    .option('--truncate', 'csv: empty the table first (in the same transaction)')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (opts: ImportFlags) => {
        const { importData } = await import('../../app/databases/import-data.js');
        const r = await importData(await cliContext('import.log'), opts);
        if (opts.json) return printJson(r);
        out(
          `Imported ${formatCount(r.rows)} row(s) from ${r.source} into ${r.target}${r.table ? ` (table ${r.table})` : ''} in ${(r.duration_ms / 1000).toFixed(2)} s (${formatCount(r.rows_per_second)} rows/s)`,
        );
        if (r.mode === 'empty-database') out('  The script had DDL: imported into the empty database (MySQL commits DDL at once).');
      }),
    );
}

export function registerImport(program: Command): void {
  configureImport(program.command('import'));
}
