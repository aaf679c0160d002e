/**
 * Random odd file names for the name fuzz (src/cli/odd-names-fuzz.test.ts, `npm run fuzz:names`):
 * names as bytes that are not UTF-8, hold control characters, are as long as a name can be, or
 * are different names on disk that look alike (the same text once invalid bytes are replaced,
 * once Unicode-normalised, or once case is folded). A tree of them is written with byte paths and
 * read back as a byte-exact listing to compare.
 */
import { lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { prng } from './fixtures.js';

/** The longest name Linux file systems take (NAME_MAX), in bytes. */
export const NAME_MAX = 255;

type Rnd = () => number;

const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

/** Families of names that broke or could break a tool that treats names as text. */
const FAMILIES: ReadonlyArray<(rnd: Rnd) => Buffer[]> = [
  // invalid UTF-8: stray continuation bytes, truncated sequences, overlongs, encoded surrogates
  (rnd) => [
    Buffer.concat([
      Buffer.from('inv'),
      Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 4) }, () => 0x80 + Math.floor(rnd() * 0x80))),
      Buffer.from('.txt'),
    ]),
  ],
  (rnd) => [Buffer.from(pick(rnd, ['\xc0\xaf', '\xed\xa0\x80', '\xe2\x82', '\xf4\x90\x80\x80', '\xff\xfe', '\xfe']) + 'x', 'latin1')],
  // the same text once invalid bytes are replaced by U+FFFD
  (rnd) => {
    const stem = `dup${Math.floor(rnd() * 1000)}`;
    return [Buffer.from(`${stem}\xff`, 'latin1'), Buffer.from(`${stem}\ufffd`, 'utf8'), Buffer.from(`${stem}\xfe`, 'latin1')];
  },
  // control characters and terminal escape sequences
  (rnd) => [
    Buffer.from(
      `ctl${String.fromCharCode(1 + Math.floor(rnd() * 31))}${pick(rnd, ['\x1b[2J', '\x1b]0;title\x07', '\n', '\r', '\t', '\x7f', '\u009b'])}end`,
      'utf8',
    ),
  ],
  // as long as a name can be, in one-, two-, three- and four-byte characters
  (rnd) => {
    const ch = pick(rnd, ['a', 'é', '日', '😀']);
    const per = Buffer.byteLength(ch);
    return [Buffer.from(ch.repeat(Math.floor(NAME_MAX / per)), 'utf8')];
  },
  // different names that normalise alike: NFC/NFD, case, a trailing space or dot
  () => [Buffer.from('caf\u00e9', 'utf8'), Buffer.from('cafe\u0301', 'utf8')],
  (rnd) => {
    const stem = `Case${Math.floor(rnd() * 1000)}`;
    return [Buffer.from(stem), Buffer.from(stem.toLowerCase()), Buffer.from(`${stem} `), Buffer.from(`${stem}.`)];
  },
  // names a shell or a tool may mistake: leading dash, dots only, backslashes, quotes, bidi override
  () => [Buffer.from('-rf'), Buffer.from('...'), Buffer.from('back\\slash'), Buffer.from('quote"\'`'), Buffer.from('bidi\u202etxt.exe', 'utf8')],
];

export interface OddEntry {
  /** Path relative to the root, as bytes. */
  path: Buffer;
  kind: 'file' | 'dir' | 'symlink';
}

/**
 * Writes a tree of `count` odd names (files, directories with files in them, symlinks to odd
 * targets) under `root`, seeded so a failure can be replayed. Returns what it wrote.
 */
export function writeOddTree(root: string, count: number, seed: number): OddEntry[] {
  const rnd = prng(seed);
  const rootBytes = Buffer.from(root);
  const written: OddEntry[] = [];
  const taken = new Set<string>();
  const at = (rel: Buffer): Buffer => Buffer.concat([rootBytes, Buffer.from('/'), rel]);
  const fresh = (dir: Buffer | undefined, name: Buffer): Buffer | undefined => {
    const rel = dir ? Buffer.concat([dir, Buffer.from('/'), name]) : name;
    const key = rel.toString('hex');
    if (
      taken.has(key) ||
      name.length === 0 ||
      name.length > NAME_MAX ||
      name.includes(0) ||
      name.includes(0x2f) ||
      name.equals(Buffer.from('.')) ||
      name.equals(Buffer.from('..'))
    )
      return undefined;
    taken.add(key);
    return rel;
  };
  const dirs: Array<Buffer | undefined> = [undefined];
  while (written.length < count) {
    for (const name of pick(rnd, FAMILIES)(rnd)) {
      const rel = fresh(pick(rnd, dirs), name);
      if (!rel || written.length >= count) continue;
      const r = rnd();
      if (r < 0.2 && dirs.length < 8) {
        mkdirSync(at(rel));
        dirs.push(rel);
        written.push({ path: rel, kind: 'dir' });
      } else if (r < 0.3) {
        symlinkSync(name, at(rel)); // points at a sibling by its odd name (dangling or not)
        written.push({ path: rel, kind: 'symlink' });
      } else {
        writeFileSync(at(rel), Buffer.concat([rel, Buffer.from(`\n${Math.floor(rnd() * 1e9)}\n`)]));
        // an mtime with nanoseconds that a double cannot hold exactly
        const t = new Date(1_700_000_000_000 + Math.floor(rnd() * 1e10));
        utimesSync(at(rel), t, t);
        written.push({ path: rel, kind: 'file' });
      }
    }
  }
  return written;
}

export interface ListedEntry {
  kind: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  size: number;
  /** Files: content in hex; symlinks: target in hex. */
  data?: string;
  /** Files: mtime in nanoseconds. */
  mtime?: string;
}

/** Every entry below `root`: relative path in hex → what it is, read with byte names only. */
export function listBytes(root: string): Map<string, ListedEntry> {
  const out = new Map<string, ListedEntry>();
  const walk = (abs: Buffer, rel: Buffer | undefined): void => {
    for (const name of readdirSync(abs, { encoding: 'buffer' })) {
      const childAbs = Buffer.concat([abs, Buffer.from('/'), name]);
      const childRel = rel ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
      const st = lstatSync(childAbs);
      const kind = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
      const entry: ListedEntry = { kind, mode: st.mode & 0o7777, size: kind === 'file' ? st.size : 0 };
      if (kind === 'file') {
        entry.data = readFileSync(childAbs).toString('hex');
        entry.mtime = lstatSync(childAbs, { bigint: true }).mtimeNs.toString();
      }
      if (kind === 'symlink') entry.data = readlinkSync(childAbs, { encoding: 'buffer' }).toString('hex');
      out.set(childRel.toString('hex'), entry);
      if (kind === 'dir') walk(childAbs, childRel);
    }
  };
  walk(Buffer.from(root), undefined);
  return out;
}

/** The first difference between two listings, for an assertion message (undefined when equal). */
export function firstDifference(a: Map<string, ListedEntry>, b: Map<string, ListedEntry>): string | undefined {
  for (const [k, v] of a) {
    const w = b.get(k);
    const name = JSON.stringify(Buffer.from(k, 'hex').toString('latin1'));
    if (!w) return `${name} is missing`;
    if (JSON.stringify(v) !== JSON.stringify(w)) return `${name} differs: ${JSON.stringify(v)} vs ${JSON.stringify(w)}`;
  }
  for (const k of b.keys()) if (!a.has(k)) return `${JSON.stringify(Buffer.from(k, 'hex').toString('latin1'))} is extra`;
  return undefined;
}
