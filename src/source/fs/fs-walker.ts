import { existsSync, lstatSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { fsPath } from '../../core/byte-names.js';
import { PrismError } from '../../errors/index.js';
import { listNames, readTarget } from './fs-names.js';

export type WalkKind = 'file' | 'dir' | 'symlink';

/** The metadata kept of each entry (times and inode as exact decimal strings). */
export interface WalkMeta {
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: string;
  ctime: string;
  inode: string;
}

export interface WalkNode {
  /** The name as bytes, in the string form of core/byte-names (invalid UTF-8 bytes as lone surrogates). */
  name: string;
  /** Absolute path on disk, in the same form: hand it to node:fs through fsPath(). */
  path: string;
  kind: WalkKind;
  meta: WalkMeta;
  target?: string;
  children?: WalkNode[];
}

/** The metadata kept of an lstat (or fstat) taken with bigint: true. */
export function metaOf(s: BigIntStats): WalkMeta {
  return {
    mode: Number(s.mode & 0o7777n),
    uid: Number(s.uid),
    gid: Number(s.gid),
    size: Number(s.size),
    mtime: s.mtimeNs.toString(),
    ctime: s.ctimeNs.toString(),
    inode: s.ino.toString(),
  };
}

export interface WalkProblem {
  path: string;
  code: 'PERMISSION_DENIED' | 'SKIPPED';
  message: string;
}

/** The message of a SKIPPED problem for an included path that does not exist (skipMissing). */
export const MISSING_SOURCE = 'included path does not exist';

export interface WalkResult {
  root: WalkNode;
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  problems: WalkProblem[];
}

export interface WalkOptions {
  /** The data directory (PRISM_HOME). */
  home: string;
  /** Paths relative to home to back up. */
  include: readonly string[];
  /** A name without "/" excludes that name at any depth; a path with "/" excludes that path (relative to home). */
  exclude: readonly string[];
  /** Leave out included paths that do not exist (noted as SKIPPED) instead of failing with ERR_BACKUP_003. */
  skipMissing?: boolean;
}

/**
 * Walks the included directories of the data directory (sync calls: a stat is microseconds and
 * this runs before the parallel part), returning one tree rooted at `home` that holds only the
 * included paths and the directories above them.
 */
export function walkSources(opts: WalkOptions): WalkResult {
  const names = new Set(opts.exclude.filter((e) => !e.includes('/')));
  const paths = new Set(opts.exclude.filter((e) => e.includes('/')).map((e) => e.replace(/^\/+|\/+$/g, '')));
  const result: WalkResult = { root: undefined as unknown as WalkNode, files: 0, dirs: 0, symlinks: 0, bytes: 0, problems: [] };
  const homeStat = statOrThrow(opts.home, opts.home);
  result.root = { name: '', path: opts.home, kind: 'dir', meta: metaOf(homeStat), children: [] };

  for (const inc of opts.include) {
    const parts = inc.split('/').filter((p) => p.length > 0 && p !== '.');
    let parent = result.root;
    let rel = '';
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      rel = rel ? `${rel}/${name}` : name;
      const path = join(opts.home, rel);
      let node = parent.children!.find((c) => c.name === name);
      if (!node) {
        if (opts.skipMissing && !existsSync(path)) {
          result.problems.push({ path, code: 'SKIPPED', message: MISSING_SOURCE });
          break;
        }
        const stat = statOrThrow(path, inc);
        const last = i === parts.length - 1;
        if (!last && !stat.isDirectory()) throw notFound(inc, `${path} is not a directory`);
        node = { name, path, kind: stat.isDirectory() ? 'dir' : stat.isSymbolicLink() ? 'symlink' : 'file', meta: metaOf(stat), children: [] };
        if (node.kind === 'symlink') node.target = readTarget(path);
        if (node.kind !== 'dir') delete node.children;
        parent.children!.push(node);
        if (last) count(result, node);
        if (last && node.kind === 'dir') walkDir(node, rel, names, paths, result);
        else if (!last) result.dirs++;
      }
      parent = node;
    }
  }
  return result;
}

function count(r: WalkResult, n: WalkNode): void {
  if (n.kind === 'file') {
    r.files++;
    r.bytes += n.meta.size;
  } else if (n.kind === 'dir') r.dirs++;
  else r.symlinks++;
}

function walkDir(dir: WalkNode, rel: string, names: Set<string>, paths: Set<string>, r: WalkResult): void {
  let entries: string[];
  try {
    entries = listNames(dir.path);
  } catch (e) {
    r.problems.push({ path: dir.path, code: 'PERMISSION_DENIED', message: `cannot list directory: ${(e as Error).message}` });
    return;
  }
  entries.sort();
  for (const name of entries) {
    const childRel = `${rel}/${name}`;
    if (names.has(name) || paths.has(childRel)) continue;
    const path = join(dir.path, name);
    let stat: BigIntStats;
    try {
      stat = lstatSync(fsPath(path), { bigint: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') continue; // removed while we looked
      r.problems.push({ path, code: 'PERMISSION_DENIED', message: (e as Error).message });
      continue;
    }
    let node: WalkNode;
    if (stat.isFile()) node = { name, path, kind: 'file', meta: metaOf(stat) };
    else if (stat.isDirectory()) node = { name, path, kind: 'dir', meta: metaOf(stat), children: [] };
    else if (stat.isSymbolicLink()) {
      let target: string;
      try {
        target = readTarget(path);
      } catch (e) {
        r.problems.push({ path, code: 'PERMISSION_DENIED', message: (e as Error).message });
        continue;
      }
      node = { name, path, kind: 'symlink', meta: metaOf(stat), target };
    } else {
      r.problems.push({ path, code: 'SKIPPED', message: 'not a regular file, directory or symlink (socket, FIFO or device)' });
      continue;
    }
    dir.children!.push(node);
    count(r, node);
    if (node.kind === 'dir') walkDir(node, childRel, names, paths, r);
  }
}

function statOrThrow(path: string, configured: string): BigIntStats {
  try {
    return lstatSync(path, { bigint: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw notFound(configured, `${path} does not exist`);
    if (code === 'EACCES') throw new PrismError('PERMISSION_DENIED', `Permission denied: cannot access ${path}`, { path });
    throw e;
  }
}

function notFound(configured: string, detail: string): PrismError {
  return new PrismError('SOURCE_NOT_FOUND', `Source directory not found: ${detail} (configured as "${configured}").`, { path: configured });
}
