import { PrismError } from '../../errors/index.js';
import type { DbUrl } from './db-url.js';

/** What a database error is about: enough of the target to name it without its password. */
export interface DbErrorTarget extends Pick<DbUrl, 'type' | 'host' | 'port' | 'database' | 'user' | 'password'> {
  readonly shown: string;
}

const AUTH = [
  /password authentication failed/i,
  /no password supplied/i,
  /fe_sendauth/i,
  /authentication failed/i,
  /access denied for user/i,
  /role "[^"]*" does not exist/i,
  /\b28P01\b|\b28000\b/,
  /ER_ACCESS_DENIED/i,
  /\b1045\b.*denied/i,
];
const UNREACHABLE = [
  /connection refused/i,
  /could not connect to server/i,
  /could not translate host name/i,
  /no route to host/i,
  /timeout expired|timed out|ETIMEDOUT/i,
  /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ECONNRESET/,
  /can't connect to (local )?(mysql|mariadb|server)/i,
  /unknown (mysql|mariadb)? ?server host/i,
  /database "[^"]*" does not exist/i,
  /unknown database/i,
  /\b3D000\b/,
  /ER_BAD_DB_ERROR/,
  /connection terminated/i,
  /server closed the connection unexpectedly/i,
  /lost connection to (mysql|mariadb|server)/i,
  /PROTOCOL_CONNECTION_LOST/,
];

/** Replaces every occurrence of `secret` (and its percent-encoded form) by ***. */
export function scrubSecret(text: string, secret: string | undefined): string {
  if (!secret) return text;
  let out = text.split(secret).join('***');
  const enc = encodeURIComponent(secret);
  if (enc !== secret) out = out.split(enc).join('***');
  return out;
}

/**
 * Maps a driver error or a native tool's stderr to DB_AUTH_FAILED, DB_UNREACHABLE or (anything
 * else) DB_TOOL_FAILED. The message names the URL without password and never contains it.
 */
export function classifyDbError(t: DbErrorTarget, e: unknown, details: Record<string, unknown> = {}): PrismError {
  if (e instanceof PrismError) return e;
  const err = e as { message?: string; code?: string; errno?: number; sqlState?: string };
  const raw = typeof e === 'string' ? e : [err?.code, err?.message ?? String(e)].filter(Boolean).join(': ');
  const text = scrubSecret(raw, t.password).replace(/\s+/g, ' ').trim().slice(0, 600);
  const d = { url: t.shown, ...details };
  if (AUTH.some((r) => r.test(raw))) {
    return new PrismError('DB_AUTH_FAILED', `Authentication as "${t.user}" to ${t.shown} failed: ${text}`, d);
  }
  if (UNREACHABLE.some((r) => r.test(raw))) {
    return new PrismError('DB_UNREACHABLE', `Database ${t.shown} is unreachable: ${text}`, d);
  }
  const what = typeof details['what'] === 'string' ? ` while ${details['what']}` : '';
  return new PrismError('DB_TOOL_FAILED', `Database ${t.shown} failed${what}: ${text}`, d);
}
