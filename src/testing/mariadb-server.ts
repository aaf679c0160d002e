/** A throwaway MariaDB server with binary logging, for the tests of binary log archiving and replay. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const MARIADBD = '/usr/sbin/mariadbd';

export interface BinlogServer {
  port: number;
  /** SQL on the server as root; tab-separated rows, trimmed. */
  sql(text: string, db?: string): string;
  /** The server's clock (ms since the epoch). */
  now(): number;
  /** Waits until the server's clock has reached `ms` (the time the next event it stamps itself will carry). */
  reaches(ms: number): Promise<void>;
  /** `mysql://root@127.0.0.1:<port>/<db>` */
  url(db: string): string;
  /** Stops the server (SIGTERM, then SIGKILL after 30 s). */
  stop(): Promise<void>;
}

/**
 * Initialises a data directory under `root` and starts `mariadbd` on `port` with row-based binary
 * logging (`<root>/data/bin.NNNNNN`); resolves once it answers.
 */
export async function startBinlogServer(root: string, port: number): Promise<BinlogServer> {
  const data = join(root, 'data');
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  const small = ['--innodb-log-file-size=4M', '--innodb-buffer-pool-size=32M'];
  const init = spawnSync(
    'mariadb-install-db',
    ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...asRoot, ...small],
    { encoding: 'utf8' },
  );
  if (init.status !== 0) throw new Error(`mariadb-install-db failed: ${init.stderr}${init.stdout}`);
  return startServerOn(root, data, port);
}

/**
 * Starts `mariadbd` on an existing data directory `data` (a restored one), with its socket, pid
 * file and error log under `root`, binary logging as startBinlogServer's; resolves once it answers.
 */
export async function startServerOn(root: string, data: string, port: number): Promise<BinlogServer> {
  const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
  const small = ['--innodb-log-file-size=4M', '--innodb-buffer-pool-size=32M'];
  const server: ChildProcess = spawn(
    MARIADBD,
    [
      '--no-defaults',
      `--datadir=${data}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      `--socket=${join(root, 'sock')}`,
      `--pid-file=${join(root, 'pid')}`,
      `--log-error=${join(root, 'error.log')}`,
      `--log-bin=${join(data, 'bin')}`,
      '--server-id=1',
      '--binlog-format=ROW',
      '--skip-name-resolve',
      '--innodb-flush-log-at-trx-commit=2',
      ...asRoot,
      ...small,
    ],
    { stdio: 'ignore' },
  );
  const sql = (text: string, db = ''): string => {
    const r = spawnSync('mariadb', ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', '--batch', '--skip-column-names', ...(db ? [db] : [])], {
      input: text,
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`mariadb: ${r.stderr}`);
    return r.stdout.trim();
  };
  const now = () => Number(sql('SELECT UNIX_TIMESTAMP(NOW(6))')) * 1000;
  const stop = async () => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((r) => server.once('exit', r));
    server.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 30_000)))]);
    clearTimeout(timer);
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
  };
  for (let i = 0; ; i++) {
    if (spawnSync('mariadb-admin', ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', 'ping'], { encoding: 'utf8' }).status === 0) break;
    if (i > 300 || server.exitCode !== null) {
      await stop();
      throw new Error(`the throwaway MariaDB did not start (see ${join(root, 'error.log')})`);
    }
    await sleep(100);
  }
  return {
    port,
    sql,
    now,
    reaches: async (ms: number) => {
      while (now() < ms) await sleep(50);
    },
    url: (db: string) => `mysql://root@127.0.0.1:${port}/${db}`,
    stop,
  };
}
