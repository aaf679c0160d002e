import { PrismError } from '../../errors/index.js';
import type { DbTarget } from './db-credentials.js';
import { classifyDbError, scrubSecret, type DbErrorTarget } from './db-errors.js';

const NETWORK = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE']);

interface DriverError {
  code?: string;
  message?: string;
}

/**
 * An error met while connecting: DB_AUTH_FAILED when the login was refused, otherwise
 * DB_UNREACHABLE (the server, or the database, could not be reached). Never names the password.
 */
export function connectError(t: DbErrorTarget, e: unknown): PrismError {
  const err = classifyDbError(t, e);
  if (err.code !== 'DB_TOOL_FAILED') return err;
  return new PrismError('DB_UNREACHABLE', err.message.replace(/^Database (\S+) failed: /, 'Database $1 is unreachable: '), err.details);
}

/** An error met while importing: nothing was committed. `line` is the source line when known. */
export function importError(t: DbTarget, e: unknown, line?: number): PrismError {
  if (e instanceof PrismError) return e;
  const err = (e ?? {}) as DriverError;
  const lost =
    (err.code && NETWORK.has(err.code)) || err.code === 'PROTOCOL_CONNECTION_LOST' || err.code === '57P01' || /Connection terminated/i.test(err.message ?? '');
  const what = lost ? `the connection to ${t.host}:${t.port} was lost (${err.code ?? clean(err.message ?? '', t)})` : clean(err.message ?? String(e), t);
  const at = line !== undefined ? ` at line ${line}` : '';
  return new PrismError('IMPORT_FAILED', `Import into ${t.shown} failed${at}: ${what}. Nothing was imported (the transaction was rolled back).`, {
    target: t.shown,
    ...(line !== undefined ? { line } : {}),
    ...(err.code ? { db_code: err.code } : {}),
  });
}

/** Removes the password from a message, should a driver or client have echoed it. */
export function clean(message: string, t: DbTarget): string {
  return scrubSecret(message.trim().replace(/\s+/g, ' '), t.password);
}
