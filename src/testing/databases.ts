/** Scratch databases on the real servers of the development machine (PostgreSQL :5432, MariaDB :3306). */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
export const MYSQL_ADMIN_URL = 'mysql://root@127.0.0.1:3306/test';

export interface ScratchDb {
  readonly name: string;
  /** URL of the scratch database (no password: trust auth / root without password). */
  readonly url: string;
  /** Runs SQL in it through the native client; returns stdout (tab-separated, no headers). */
  sql(text: string): string;
  drop(): void;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

function run(cmd: string, args: string[], input: string): string {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

export function psql(db: string, text: string): string {
  return run('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-d', db, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1'], text);
}

/**
 * What psql prints for `sql` (a `COPY … TO STDOUT`) in the session settings of prism's dumps, as
 * raw bytes: the reference for what prism reads (psql parses the protocol itself).
 */
export function psqlCopy(db: string, sql: string): Buffer {
  const sets = [
    "SET TIME ZONE 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    'SET extra_float_digits = 3',
    "SET bytea_output = 'hex'",
  ];
  const r = spawnSync(
    'psql',
    ['-h', '127.0.0.1', '-U', 'postgres', '-d', db, '-X', '-q', '-v', 'ON_ERROR_STOP=1', ...sets.flatMap((c) => ['-c', c]), '-c', sql],
    { maxBuffer: 512 * 1024 * 1024 },
  );
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr.toString()}`);
  return r.stdout;
}

export function mariadb(db: string, text: string): string {
  return run('mariadb', ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '--batch', '--skip-column-names', '--default-character-set=utf8mb4', db], text);
}

/** A new, empty PostgreSQL database with a unique name. */
export function pgScratchDb(prefix = 'prism_t'): ScratchDb {
  const name = uniqueName(prefix);
  psql('postgres', `CREATE DATABASE "${name}";`);
  return {
    name,
    url: `postgres://postgres@127.0.0.1:5432/${name}`,
    sql: (text) => psql(name, text),
    drop: () => void psql('postgres', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE);`),
  };
}

/** A new, empty MariaDB database with a unique name. */
export function mysqlScratchDb(prefix = 'prism_t'): ScratchDb {
  const name = uniqueName(prefix);
  mariadb('test', `CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4;`);
  return {
    name,
    url: `mysql://root@127.0.0.1:3306/${name}`,
    sql: (text) => mariadb(name, text),
    drop: () => void mariadb('test', `DROP DATABASE IF EXISTS \`${name}\`;`),
  };
}
