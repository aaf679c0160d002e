import { REMOTE_SCHEME as REMOTE } from '../core/remote-location.js';
import { PrismError } from '../errors/index.js';

/**
 * Where a repository lives, parsed from PRISM_BACKUP_PATH / backup.storage_path / --repo.
 * Spelled as restic spells them where it fits:
 * - a local path: `/srv/backups`, `~/.prism-gateway-backups`, `relative/dir`;
 * - S3 (AWS or any S3-compatible store): `s3:https://host[:port]/bucket[/prefix]`,
 *   `s3:http://127.0.0.1:7480/bucket/prefix`, `s3:host/bucket[/prefix]` (https), or
 *   `s3://bucket[/prefix]` (AWS, region from AWS_REGION);
 * - Azure Blob: `azure:container:/prefix` (account from AZURE_STORAGE_ACCOUNT or the connection
 *   string), or `azure://account/container/prefix`;
 * - SFTP: `sftp:user@host:/path`, `sftp:host:path` (relative to the login's home),
 *   `sftp://user@host:port/path` (absolute) and `sftp://user@host:port/~/path` (relative).
 */
export type Location =
  | { kind: 'local'; path: string }
  | { kind: 's3'; endpoint: string | undefined; bucket: string; prefix: string }
  | { kind: 'azure'; account: string | undefined; container: string; prefix: string }
  | { kind: 'sftp'; user: string | undefined; host: string; port: number; path: string };

export { isRemoteLocation } from '../core/remote-location.js';

function bad(location: string, why: string): PrismError {
  return new PrismError('STORE_LOCATION', `The repository location ${location} is not understood: ${why}.`, { location });
}

/** A prefix inside a bucket or container: no leading or trailing slashes, no empty, `.` or `..` parts. */
function cleanPrefix(location: string, raw: string): string {
  const parts = raw.split('/').filter((p) => p !== '');
  if (parts.some((p) => p === '.' || p === '..')) throw bad(location, 'the prefix may not contain . or .. parts');
  return parts.join('/');
}

function parseS3(location: string, rest: string): Location {
  let endpoint: string | undefined;
  let path: string;
  if (rest.startsWith('//')) {
    path = rest.slice(2); // s3://bucket/prefix: AWS itself
  } else if (/^https?:\/\//.test(rest)) {
    const u = new URL(rest);
    if (u.username || u.password)
      throw bad(location, 'credentials do not belong in the location: use AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE)');
    endpoint = `${u.protocol}//${u.host}`;
    path = decodeURIComponent(u.pathname);
  } else {
    const slash = rest.indexOf('/');
    if (slash <= 0) throw bad(location, 'write it as s3:https://host/bucket/prefix');
    endpoint = `https://${rest.slice(0, slash)}`;
    path = rest.slice(slash);
  }
  const parts = path.split('/').filter((p) => p !== '');
  const bucket = parts.shift();
  if (!bucket) throw bad(location, 'it names no bucket (s3:https://host/bucket/prefix)');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
    throw bad(location, `${bucket} is not a valid bucket name (3–63 lowercase letters, digits, dots and hyphens)`);
  return { kind: 's3', endpoint, bucket, prefix: cleanPrefix(location, parts.join('/')) };
}

function parseAzure(location: string, rest: string): Location {
  let account: string | undefined;
  let container: string;
  let prefix: string;
  if (rest.startsWith('//')) {
    const parts = rest.slice(2).split('/');
    account = parts.shift() || undefined;
    container = parts.shift() ?? '';
    prefix = parts.join('/');
  } else {
    const colon = rest.indexOf(':');
    container = colon < 0 ? rest : rest.slice(0, colon);
    prefix = colon < 0 ? '' : rest.slice(colon + 1);
  }
  if (!/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/.test(container)) {
    throw bad(
      location,
      `${JSON.stringify(container)} is not a valid container name (3–63 lowercase letters, digits and single hyphens): write azure:container:/prefix`,
    );
  }
  return { kind: 'azure', account, container, prefix: cleanPrefix(location, prefix) };
}

function parseSftp(location: string, rest: string): Location {
  if (rest.startsWith('//')) {
    let u: URL;
    try {
      u = new URL(`sftp:${rest}`);
    } catch {
      throw bad(location, 'write it as sftp://user@host:port/path');
    }
    if (u.password) throw bad(location, 'passwords do not belong in the location: sftp uses SSH keys (PRISM_SFTP_KEY or ssh-agent)');
    const raw = decodeURIComponent(u.pathname);
    const path = raw.startsWith('/~/') ? raw.slice(3) : raw === '/~' ? '' : raw;
    return {
      kind: 'sftp',
      user: u.username ? decodeURIComponent(u.username) : undefined,
      host: u.hostname.replace(/^\[|\]$/g, ''),
      port: Number(u.port || 22),
      path: trimPath(location, path),
    };
  }
  const m = /^(?:([^@/:]+)@)?(\[[^\]]+\]|[^:/@]+):(.*)$/.exec(rest);
  if (!m) throw bad(location, 'write it as sftp:user@host:/path');
  return { kind: 'sftp', user: m[1], host: m[2]!.replace(/^\[|\]$/g, ''), port: 22, path: trimPath(location, m[3]!) };
}

/** A path on the server: its trailing slashes go; `..` parts are refused (the path is the repository's root). */
function trimPath(location: string, p: string): string {
  if (p.split('/').includes('..')) throw bad(location, 'the path may not contain .. parts');
  return p.length > 1 ? p.replace(/\/+$/, '') : p;
}

/** Parses a location; a local path is returned as it is (the caller resolves it). */
export function parseLocation(location: string): Location {
  const m = REMOTE.exec(location);
  if (!m) return { kind: 'local', path: location };
  const rest = location.slice(m[0].length);
  switch (m[1]) {
    case 's3':
      return parseS3(location, rest);
    case 'azure':
      return parseAzure(location, rest);
    case 'sftp':
      return parseSftp(location, rest);
    default:
      throw bad(location, `prism has no ${m[1]} backend: use a local path, s3:, azure: or sftp:`);
  }
}

/** The location as shown to people: never with credentials (they are never in it, but a URL may carry a query). */
export function displayLocation(loc: Location): string {
  switch (loc.kind) {
    case 'local':
      return loc.path;
    case 's3':
      return `s3:${loc.endpoint ?? '/'}/${loc.bucket}${loc.prefix ? `/${loc.prefix}` : ''}`;
    case 'azure':
      return loc.account ? `azure://${loc.account}/${loc.container}/${loc.prefix}` : `azure:${loc.container}:/${loc.prefix}`;
    case 'sftp':
      return `sftp://${loc.user ? `${loc.user}@` : ''}${loc.host.includes(':') ? `[${loc.host}]` : loc.host}:${loc.port}${loc.path.startsWith('/') ? '' : '/~/'}${loc.path}`;
  }
}
