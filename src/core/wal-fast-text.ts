import { promises as fsp, type BigIntStats } from 'node:fs';

/**
 * The text the WAL launcher (src/cli/wal-launcher/prism-wal.main.c) reads: spool marks and the
 * pointer files of `PRISM_HOME/run/wal-fast/`. Lines of `key value`; every value that may hold
 * any byte is written percent-encoded (bytes 0x21–0x7E but `%` as they are, the others `%XX`), so
 * a path with a space, a newline or bytes that are not UTF-8 never breaks a line, and the C side
 * compares what it builds from its own view byte for byte.
 */
export function encodeField(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8'))
    out += b > 0x20 && b < 0x7f && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

/** encodeField's inverse; undefined for anything it would not have written (or a NUL byte). */
export function decodeField(s: string): string | undefined {
  if (!/^(?:[\x21-\x24\x26-\x7e]|%[0-9A-F]{2})*$/.test(s)) return undefined;
  const bytes = Buffer.from(
    s.replace(/%([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  );
  if (bytes.includes(0)) return undefined;
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : undefined;
}

/** FNV-1a, 64 bits, of the UTF-8 bytes of `s`, as 16 lowercase hex digits (a file name, not a check: the file's content is compared). */
export function fnv1a64(s: string): string {
  let h = 0xcbf29ce484222325n;
  for (const b of Buffer.from(s, 'utf8')) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
  return h.toString(16).padStart(16, '0');
}

/**
 * What tells that a file is still the one read (restic's and git's change detection): device,
 * inode, size, modification and change times to the nanosecond. The change time (ctime) moves
 * on every write, chmod, chown or rename of the file and cannot be set back by its owner.
 */
export interface FileIdentity {
  dev: bigint;
  ino: bigint;
  size: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

export function identityOf(st: BigIntStats): FileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs };
}

/** The identity of a regular file (not followed if it is a symbolic link), or undefined. */
export async function fileIdentity(path: string): Promise<FileIdentity | undefined> {
  const st = await fsp.lstat(path, { bigint: true }).catch(() => undefined);
  return st?.isFile() ? identityOf(st) : undefined;
}

export function formatIdentity(id: FileIdentity): string {
  return `${id.dev} ${id.ino} ${id.size} ${id.mtimeNs} ${id.ctimeNs}`;
}

export function parseIdentity(s: string): FileIdentity | undefined {
  const m = /^(\d{1,20}) (\d{1,20}) (\d{1,20}) (-?\d{1,20}) (-?\d{1,20})$/.exec(s);
  if (!m) return undefined;
  return { dev: BigInt(m[1]!), ino: BigInt(m[2]!), size: BigInt(m[3]!), mtimeNs: BigInt(m[4]!), ctimeNs: BigInt(m[5]!) };
}

export function sameIdentity(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && formatIdentity(a) === formatIdentity(b);
}
