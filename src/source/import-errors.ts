import { PrismError } from '../errors/index.js';
import type { DbTarget } from './import-url.js';

const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);
/** PostgreSQL: bad password, no such role or auth method, no such database, too many connections, shutting down. */
const PG_CONNECT = new Set(['28P01', '28000', '3D000', '53300', '57P03']);
/** MySQL/MariaDB: access denied, unknown database, too many connections. */
const MYSQL_CONNECT = new Set([1044, 1045, 1049, 1040, 1203]);

interface DriverError {
  code?: string;
  errno?: number;
  message?: string;
  where?: string;
  fatal?: boolean;
}

/** An error met while connecting: what failed, without the password. */
export function connectError(t: DbTarget, e: unknown): PrismError {
  const err = (e ?? {}) as DriverError;
  const why = err.code && NETWORK.has(err.code) ? `${err.code === 'ECONNREFUSED' ? 'connection refused' : err.code} (is the server running on ${t.host}:${t.port}?)` : clean(err.message ?? String(e), t);
  return new PrismError('DB_CONNECT_FAILED', `Cannot connect to ${t.display}: ${why}.`, { target: t.display });
}

/** True when a driver error means the connection or login failed (rather than the import). */
export function isConnectError(e: unknown): boolean {
  const err = (e ?? {}) as DriverError;
  if (err.code && NETWORK.has(err.code)) return true;
  if (err.code && PG_CONNECT.has(err.code)) return true;
  return err.errno !== undefined && MYSQL_CONNECT.has(err.errno);
}

/** An error met while importing: nothing was committed. `line` is the source line when known. */
export function importError(t: DbTarget, e: unknown, line?: number): PrismError {
  if (e instanceof PrismError) return e;
  const err = (e ?? {}) as DriverError;
  const lost = (err.code && NETWORK.has(err.code)) || err.code === 'PROTOCOL_CONNECTION_LOST' || err.code === '57P01' || /Connection terminated/i.test(err.message ?? '');
  const what = lost ? `the connection to ${t.host}:${t.port} was lost (${err.code ?? clean(err.message ?? '', t)})` : clean(err.message ?? String(e), t);
  const at = line !== undefined ? ` at line ${line}` : '';
  return new PrismError('IMPORT_FAILED', `Import into ${t.display} failed${at}: ${what}. Nothing was imported (the transaction was rolled back).`, {
    target: t.display,
    ...(line !== undefined ? { line } : {}),
    ...(err.code ? { db_code: err.code } : {}),
  });
}

/** Removes the password from a message, should a driver or client have echoed it. */
export function clean(message: string, t: DbTarget): string {
  const m = message.trim().replace(/\s+/g, ' ');
  return t.password ? m.split(t.password).join('***') : m;
}
