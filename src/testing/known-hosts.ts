/**
 * An ssh2 host verifier from an OpenSSH known_hosts file, for tests that open their own SSH
 * connection to the test server. Plain host entries only (`host` or `[host]:port`, no hashed
 * names, no wildcards): enough for the file scripts/servers/sshd.sh writes. Product SFTP code
 * verifies hosts with its own implementation, not this one.
 */
import { readFileSync } from 'node:fs';

/** The keys (SSH wire format) known_hosts lists for host:port; `@revoked` and `@cert-authority` lines are left out. */
export function knownHostKeys(knownHostsFile: string, host: string, port: number): Buffer[] {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const keys: Buffer[] = [];
  for (const line of readFileSync(knownHostsFile, 'utf8').split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 3 || fields[0].startsWith('#') || fields[0].startsWith('@')) continue;
    if (fields[0].split(',').includes(name)) keys.push(Buffer.from(fields[2], 'base64'));
  }
  return keys;
}

/** For ssh2's `hostVerifier`: true only for a key known_hosts lists for host:port (read once, now). */
export function knownHostVerifier(knownHostsFile: string, host: string, port: number): (key: Buffer) => boolean {
  const keys = knownHostKeys(knownHostsFile, host, port);
  if (keys.length === 0) throw new Error(`${knownHostsFile} has no key for ${host}:${port}`);
  return (key) => keys.some((k) => k.equals(key));
}
