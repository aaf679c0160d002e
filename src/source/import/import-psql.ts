import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { PrismError } from '../../errors/index.js';
import { withNativeAuth, type DbTarget } from '../db/db-credentials.js';
import { clean, importError } from '../db/connect-errors.js';
import { pgConnect } from './import-pg.js';
import { pgTool } from '../postgres/pg-tools.js';

/**
 * A SQL script through psql: ON_ERROR_STOP=1 and --single-transaction, so the first error ends
 * the run and nothing of it is committed. psql reads the file itself (streamed); the password
 * goes through a temporary PGPASSFILE (withNativeAuth). Rows are the sum of the INSERT and COPY command tags.
 */
export async function importPgSql(t: DbTarget, file: string): Promise<{ rows: number }> {
  (await pgConnect(t)).end().catch(() => {}); // a clear connection error before psql starts
  return withNativeAuth(t, async (auth) => {
    const child = spawn(
      pgTool('psql'),
      [
        ...auth.args,
        '-X',
        '-v',
        'ON_ERROR_STOP=1',
        '--single-transaction',
        '--no-align',
        '--tuples-only',
        '-h',
        t.host,
        '-p',
        String(t.port),
        '-U',
        t.user,
        '-d',
        t.database,
        '-f',
        file,
      ],
      {
        env: { ...auth.env, PGAPPNAME: 'prism-import' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let rows = 0;
    createInterface({ input: child.stdout }).on('line', (l) => {
      const m = /^(?:INSERT \d+ (\d+)|COPY (\d+))$/.exec(l);
      if (m) rows += Number(m[1] ?? m[2]);
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 64 * 1024) stderr += d.toString('utf8');
    });
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', (e) =>
        reject(new PrismError('IMPORT_FAILED', `Cannot run psql: ${e.message}. Install the PostgreSQL client (apt-get install postgresql-client).`)),
      );
      child.on('close', (c) => resolve(c ?? 1));
    });
    if (code !== 0) {
      const m = /^psql:.*?:(\d+): (?:ERROR|FATAL|error):\s*(.*)$/m.exec(stderr);
      if (m) throw importError(t, new Error(m[2]), Number(m[1]));
      throw importError(t, new Error(clean(stderr, t) || `psql exited with ${code}`));
    }
    return { rows };
  });
}
