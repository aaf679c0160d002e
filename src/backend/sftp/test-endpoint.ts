import { readFileSync } from 'node:fs';

/*
 * The loopback sshd the SFTP tests run against, as described in /tmp/prism-servers/endpoints.json
 * (written by whoever starts the test servers). Only for tests; to be replaced by
 * src/testing/test-servers.ts once that is on main.
 */

export interface SftpEndpoint {
  host: string;
  port: number;
  user: string;
  /** The login's home directory (on this machine: the server is on loopback). */
  home: string;
  /** A private key the server accepts for `user`. */
  keyFile: string;
  /** A known_hosts file holding the server's host keys under [host]:port. */
  knownHostsFile: string;
}

export const ENDPOINTS_FILE = '/tmp/prism-servers/endpoints.json';

/** The sftp endpoint; throws (the test fails, never skips) when the servers are not running. */
export function sftpEndpoint(): SftpEndpoint {
  let all: Record<string, unknown>;
  try {
    all = JSON.parse(readFileSync(ENDPOINTS_FILE, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`the SFTP tests need the loopback test servers: ${ENDPOINTS_FILE} does not read (${(e as Error).message}); start the test servers first`);
  }
  const e = all.sftp as Partial<SftpEndpoint> | undefined;
  if (!e || !e.host || !e.port || !e.user || !e.home || !e.keyFile || !e.knownHostsFile) {
    throw new Error(
      `the SFTP tests need the loopback sshd: ${ENDPOINTS_FILE} has no complete "sftp" entry (host, port, user, home, keyFile, knownHostsFile); start the test servers with sftp`,
    );
  }
  return { host: e.host, port: Number(e.port), user: e.user, home: e.home, keyFile: e.keyFile, knownHostsFile: e.knownHostsFile };
}
