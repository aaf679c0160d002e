import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/*
 * OpenSSH's known_hosts format, enough to pin a server's host key the way `ssh` with
 * StrictHostKeyChecking=yes does: plain host patterns (comma lists, `*` and `?` wildcards, `!`
 * negation, `[host]:port` for ports other than 22), hashed entries (`|1|salt|hash`, HMAC-SHA1 of
 * the host as written), and the `@revoked` marker. `@cert-authority` lines are skipped: host
 * certificates are not accepted, so a host known only through a CA is an unknown host.
 */

export interface KnownHostEntry {
  /** The file and line, for messages ("~/.ssh/known_hosts:12"). */
  readonly source: string;
  readonly marker: 'revoked' | undefined;
  /** The host field as written: a comma list of patterns, or one `|1|salt|hash`. */
  readonly hosts: string;
  /** The key type named on the line (ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa …). */
  readonly keyType: string;
  /** The public key in SSH wire format (what the server sends in the key exchange). */
  readonly key: Buffer;
}

/** Parses a known_hosts file; lines that do not read (or are @cert-authority lines) are skipped, as ssh skips them. */
export function parseKnownHosts(text: string, file: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: 'revoked' | undefined;
    if (fields[0]!.startsWith('@')) {
      const m = fields.shift()!;
      if (m !== '@revoked') return; // @cert-authority: certificates are not supported
      marker = 'revoked';
    }
    const [hosts, keyType, b64] = fields;
    if (!hosts || !keyType || !b64 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return;
    const key = Buffer.from(b64, 'base64');
    if (keyTypeOf(key) !== keyType) return; // a damaged line: its blob names another type
    out.push({ source: `${file}:${i + 1}`, marker, hosts, keyType, key });
  });
  return out;
}

/** The key type a wire-format public key names (its first string), or undefined if it does not read. */
export function keyTypeOf(key: Buffer): string | undefined {
  if (key.length < 4) return undefined;
  const n = key.readUInt32BE(0);
  if (n === 0 || n > 64 || 4 + n > key.length) return undefined;
  return key.toString('latin1', 4, 4 + n);
}

/** OpenSSH's fingerprint of a public key: `SHA256:` and the unpadded base64 of its SHA-256. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** How ssh writes a host in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function hostField(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === 22 ? h : `[${h}]:${port}`;
}

/** A glob with `*` (any run) and `?` (one character), as OpenSSH's match_pattern. */
export function globMatch(text: string, pattern: string): boolean {
  let t = 0;
  let p = 0;
  let starP = -1;
  let starT = 0;
  while (t < text.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === text[t])) {
      t++;
      p++;
    } else if (p < pattern.length && pattern[p] === '*') {
      starP = p++;
      starT = t;
    } else if (starP >= 0) {
      p = starP + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Whether an entry's host field names this host: a hashed entry by its HMAC, a pattern list with `!` vetoing any positive match. */
export function hostsMatch(hosts: string, host: string, port: number): boolean {
  const name = hostField(host, port);
  if (hosts.startsWith('|')) return hashedMatch(hosts, name);
  let matched = false;
  for (const raw of hosts.toLowerCase().split(',')) {
    if (raw === '') continue;
    const negated = raw.startsWith('!');
    const pattern = negated ? raw.slice(1) : raw;
    if (!globMatch(name, pattern)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, host))` */
function hashedMatch(field: string, name: string): boolean {
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2]!, 'base64');
  const want = Buffer.from(parts[3]!, 'base64');
  if (salt.length === 0 || want.length !== 20) return false;
  return timingSafeEqual(createHmac('sha1', salt).update(name).digest(), want);
}

/** A hashed host field for a host (what `ssh-keygen -H` writes), for tests and tools. */
export function hashedHostField(host: string, port: number, salt: Buffer): string {
  const hash = createHmac('sha1', salt).update(hostField(host, port)).digest('base64');
  return `|1|${salt.toString('base64')}|${hash}`;
}

export type HostKeyVerdict =
  | { result: 'known'; entry: KnownHostEntry }
  | { result: 'unknown' }
  | { result: 'mismatch'; expected: KnownHostEntry[] }
  | { result: 'revoked'; entry: KnownHostEntry };

/** The entries naming a host (revoked ones included). */
export function entriesFor(entries: readonly KnownHostEntry[], host: string, port: number): KnownHostEntry[] {
  return entries.filter((e) => hostsMatch(e.hosts, host, port));
}

/**
 * What known_hosts says of the key a server offered: a key marked @revoked for the host is
 * refused even if listed as well; a host listed with other keys only is a mismatch (of any type:
 * a server that suddenly offers a type never seen for it is as suspect as a changed key).
 */
export function checkHostKey(entries: readonly KnownHostEntry[], host: string, port: number, offered: Buffer): HostKeyVerdict {
  const mine = entriesFor(entries, host, port);
  const revoked = mine.find((e) => e.marker === 'revoked' && e.key.equals(offered));
  if (revoked) return { result: 'revoked', entry: revoked };
  const live = mine.filter((e) => e.marker === undefined);
  const same = live.find((e) => e.key.equals(offered));
  if (same) return { result: 'known', entry: same };
  return live.length === 0 ? { result: 'unknown' } : { result: 'mismatch', expected: live };
}

/** The host key algorithms to ask for, those known_hosts holds for the host first (as ssh does), so a host known by its RSA key is not offered ed25519. */
export function hostKeyAlgorithms(known: readonly KnownHostEntry[]): string[] {
  const all = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'];
  const types = new Set(known.filter((e) => e.marker === undefined).map((e) => e.keyType));
  const isKnown = (alg: string): boolean => types.has(alg.startsWith('rsa-sha2-') ? 'ssh-rsa' : alg);
  return [...all.filter(isKnown), ...all.filter((a) => !isKnown(a))];
}
