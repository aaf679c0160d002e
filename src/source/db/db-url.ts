import { PrismError } from '../../errors/index.js';

export type DbType = 'postgres' | 'mysql';

/** A parsed postgres:// or mysql:// URL. `password` is kept apart so nothing prints it by accident. */
export interface DbUrl {
  readonly type: DbType;
  readonly user: string;
  /** From the URL, if it has one (decoded). Never logged: use `redactDbUrl` / `displayDbUrl`. */
  readonly password: string | undefined;
  /** A host name, an IP address (IPv6 without brackets), or a unix-socket directory (starts with "/"). */
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** Query parameters other than `host`/`port`/`password` (e.g. sslmode). */
  readonly params: Readonly<Record<string, string>>;
}

const SCHEMES: Record<string, DbType> = { postgres: 'postgres', postgresql: 'postgres', mysql: 'mysql', mariadb: 'mysql' };
const DEFAULT_PORT: Record<DbType, number> = { postgres: 5432, mysql: 3306 };
/** The usual superuser of each engine, when the URL names none. */
const DEFAULT_USER: Record<DbType, string> = { postgres: 'postgres', mysql: 'root' };

/**
 * Parses `postgres://user[:password]@host[:port]/db[?sslmode=…]` (also postgresql://) or
 * `mysql://…` (also mariadb://). User and password are percent-decoded; `?host=/run/postgresql`
 * names a unix-socket directory. Errors name the URL without its password, and `flag` (e.g.
 * "--target") when the URL came from one.
 */
export function parseDbUrl(url: string, expect?: DbType, flag?: string): DbUrl {
  const shown = redactDbUrl(url);
  const bad = (why: string): PrismError =>
    new PrismError('INVALID_ARGUMENT', flag ? `${flag} ${shown} is not a valid database URL: ${why}.` : `Invalid database URL ${shown}: ${why}.`, {
      url: shown,
    });
  const m = /^([a-z]+):\/\/(.*)$/is.exec(url.trim());
  if (!m) throw bad('expected postgres://user@host:port/db or mysql://user@host:port/db');
  const type = SCHEMES[m[1]!.toLowerCase()];
  if (!type) throw bad(`unknown scheme "${m[1]}" (postgres, postgresql, mysql or mariadb)`);
  if (expect && type !== expect) throw bad(`a ${expect} URL is expected here`);
  let parsed: URL;
  try {
    // the WHATWG parser handles brackets, ports and percent-encoding; give it a scheme it treats generically
    parsed = new URL(`prism-db://${m[2]!}`);
  } catch {
    throw bad('it cannot be parsed (percent-encode special characters in the user or password)');
  }
  const params: Record<string, string> = {};
  for (const [k, val] of parsed.searchParams) params[k] = val;
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw bad('bad percent-encoding');
    }
  };
  let host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (params['host']) host = params['host'];
  if (!host) throw bad('no host');
  const portText = params['port'] ?? parsed.port;
  const port = portText ? Number(portText) : DEFAULT_PORT[type];
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`bad port "${portText}"`);
  const database = decode(parsed.pathname.replace(/^\//, ''));
  if (!database) throw bad('no database name after the host (…/dbname)');
  if (database.includes('/')) throw bad('the database name contains "/"');
  const password = parsed.password ? decode(parsed.password) : params['password'];
  for (const k of ['host', 'port', 'password']) delete params[k];
  return { type, user: parsed.username ? decode(parsed.username) : DEFAULT_USER[type], password, host, port, database, params };
}

/** The URL with any password (in the user part or a `password=` parameter) replaced by `***`. Works on unparseable input too. */
export function redactDbUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^/@?#:]*):[^@/]*@/i, '$1:***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}

/** The URL without any password at all, as it is stored in a manifest: `postgres://user@host:port/db`. */
export function displayDbUrl(u: DbUrl): string {
  const scheme = u.type === 'postgres' ? 'postgres' : 'mysql';
  const host = u.host.startsWith('/') ? `localhost` : u.host.includes(':') ? `[${u.host}]` : u.host;
  const q = new URLSearchParams(u.params);
  if (u.host.startsWith('/')) q.set('host', u.host);
  const query = q.toString();
  return `${scheme}://${encodeURIComponent(u.user)}@${host}:${u.port}/${encodeURIComponent(u.database)}${query ? `?${query}` : ''}`;
}

/** The same server and credentials, another database (restore into a scratch database, list databases). */
export function withDatabase(u: DbUrl, database: string): DbUrl {
  return { ...u, database };
}
