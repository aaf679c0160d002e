import { PrismError } from '../errors/index.js';

/**
 * A database connection parsed from a URL (postgres://, postgresql://, mysql://, mariadb://).
 * Private to import and PITR until the shared db-url helper lands; all URL parsing of these
 * commands goes through here.
 */
export interface DbTarget {
  type: 'postgres' | 'mysql';
  host: string;
  port: number;
  user: string;
  /** Never logged or shown; `display` is the URL without it. */
  password: string | undefined;
  database: string;
  display: string;
}

const SCHEMES: Record<string, DbTarget['type']> = { 'postgres:': 'postgres', 'postgresql:': 'postgres', 'mysql:': 'mysql', 'mariadb:': 'mysql' };

export function parseDbUrl(raw: string): DbTarget {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new PrismError('INVALID_ARGUMENT', `--target ${redact(raw)} is not a database URL: expected mysql://user:password@host[:port]/database or postgres://user:password@host[:port]/database.`);
  }
  const type = SCHEMES[url.protocol];
  if (!type) throw new PrismError('INVALID_ARGUMENT', `--target ${redact(raw)}: unknown scheme ${url.protocol} (use mysql:// or postgres://).`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database || database.includes('/')) throw new PrismError('INVALID_ARGUMENT', `--target ${redact(raw)} names no database: add /DATABASE after the host.`);
  const port = url.port ? Number(url.port) : type === 'postgres' ? 5432 : 3306;
  const user = url.username ? decodeURIComponent(url.username) : type === 'postgres' ? 'postgres' : 'root';
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const host = (url.hostname || '127.0.0.1').replace(/^\[(.*)\]$/, '$1');
  return { type, host, port, user, password, database, display: `${type === 'postgres' ? 'postgres' : 'mysql'}://${encodeURIComponent(user)}@${url.host || host}/${encodeURIComponent(database)}` };
}

/** The URL with any password replaced by ***, for messages. */
export function redact(raw: string): string {
  return raw.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, '$1:***@');
}
