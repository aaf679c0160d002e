/**
 * The real storage servers of the remote-repository tests (Ceph RADOS Gateway for S3, Azurite for
 * Azure Blob, OpenSSH for SFTP), as `node scripts/servers.mjs start` describes them in
 * endpoints.json, and fresh names so that tests running at once never share a bucket or folder.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

export interface S3TestServer {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** radosgw-admin with the cluster's config, for a test that inspects or changes the gateway. */
  adminCommand: string;
  /** A second user, with no rights of its own: a test's bucket policy grants it what it may do (append-only credentials). */
  appendOnly?: { user: string; accessKeyId: string; secretAccessKey: string };
}

export interface AzureTestServer {
  endpoint: string;
  accountName: string;
  accountKey: string;
  connectionString: string;
}

export interface SftpTestServer {
  host: string;
  port: number;
  user: string;
  /** The user's home on the server, where SFTP paths that are not absolute start. */
  home: string;
  /** The client's private key (OpenSSH format, no passphrase). */
  keyFile: string;
  /** One line, `[127.0.0.1]:PORT ssh-ed25519 …`: the server's host key. */
  knownHostsFile: string;
}

export interface TestServers {
  s3: S3TestServer;
  azure: AzureTestServer;
  sftp: SftpTestServer;
}

const FIELDS = {
  s3: { endpoint: 'string', region: 'string', accessKeyId: 'string', secretAccessKey: 'string', adminCommand: 'string' },
  azure: { endpoint: 'string', accountName: 'string', accountKey: 'string', connectionString: 'string' },
  sftp: { host: 'string', port: 'number', user: 'string', home: 'string', keyFile: 'string', knownHostsFile: 'string' },
} as const;

const SERVER_NAMES = { s3: 'S3 (Ceph RADOS Gateway)', azure: 'Azure Blob (Azurite)', sftp: 'SFTP (OpenSSH)' } as const;

export function endpointsFile(): string {
  return join(process.env.PRISM_SERVERS_DIR || '/tmp/prism-servers', 'endpoints.json');
}

/**
 * The servers described in endpoints.json. Throws, saying what to run, when the file is missing;
 * reading a server that is not in it throws the same way (so an S3 test does not need sshd).
 */
export function testServers(file = endpointsFile()): TestServers {
  let parsed: Record<string, Record<string, unknown>>;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`the test servers are not running (${file}: ${(e as Error).message}): run \`node scripts/servers.mjs start\``);
  }
  const servers = {} as TestServers;
  for (const kind of Object.keys(FIELDS) as (keyof TestServers)[]) {
    Object.defineProperty(servers, kind, {
      enumerable: true,
      get: () => {
        const entry = parsed[kind];
        if (entry === undefined) {
          throw new Error(`the ${SERVER_NAMES[kind]} test server is not running (not in ${file}): run \`node scripts/servers.mjs start ${kind}\``);
        }
        for (const [field, type] of Object.entries(FIELDS[kind])) {
          if (typeof entry[field] !== type) throw new Error(`${file}: ${kind}.${field} is not a ${type}: run \`node scripts/servers.mjs start ${kind}\` again`);
        }
        return entry;
      },
    });
  }
  return servers;
}

/**
 * A name no other test uses, valid as an S3 bucket and an Azure container: 3–63 characters,
 * lowercase letters, digits and single hyphens, starting and ending with a letter or digit.
 */
export function uniqueName(prefix: string): string {
  const suffix = `${process.pid.toString(36)}-${randomBytes(5).toString('hex')}`;
  const clean = prefix
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63 - suffix.length - 1)
    .replace(/-+$/, '');
  return `${clean || 'prism'}-${suffix}`;
}

export const uniqueBucket = uniqueName;
export const uniqueContainer = uniqueName;

/** An absolute path, not yet created, in the SFTP user's home: a folder for one test. */
export function uniqueSftpDir(prefix: string, servers: TestServers = testServers()): string {
  return posix.join(servers.sftp.home, uniqueName(prefix));
}
