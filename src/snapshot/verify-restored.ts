import { closeSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { fsPath } from '../core/byte-names.js';
import type { Repository, TreeNode } from '../repo/index.js';
import { readTarget } from '../source/fs/fs-names.js';
import { walkTree } from './tree-walk.js';

export interface RestoredMismatch {
  path: string;
  problem: string;
}

export interface RestoredCheck {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  mismatches: RestoredMismatch[];
}

/**
 * Compares a restored copy in `dir` with the backup tree, entry by entry: type, mode, symlink
 * target, and for files the size and every chunk re-hashed against the id the tree lists (read
 * from the restored file, so what was written is what the backup holds).
 */
export async function verifyRestoredTree(repo: Repository, tree: string, dir: string, signal?: AbortSignal): Promise<RestoredCheck> {
  const out: RestoredCheck = { files: 0, dirs: 0, symlinks: 0, bytes: 0, mismatches: [] };
  const buf = Buffer.allocUnsafe(repo.config.chunker.max);
  for await (const { path, node } of walkTree(repo, tree)) {
    signal?.throwIfAborted();
    const problem = checkEntry(repo, join(dir, path), node, buf, out);
    if (problem) out.mismatches.push({ path, problem });
  }
  return out;
}

function checkEntry(repo: Repository, full: string, node: TreeNode, buf: Buffer, out: RestoredCheck): string | undefined {
  let st: Stats;
  try {
    st = lstatSync(fsPath(full));
  } catch {
    return 'missing from the restored copy';
  }
  if (node.type === 'symlink') {
    out.symlinks++;
    if (!st.isSymbolicLink()) return 'not a symlink';
    const target = readTarget(full);
    return target === node.target ? undefined : `points to ${target}, the backup has ${node.target}`;
  }
  const mode = st.mode & 0o7777;
  if (node.type === 'dir') {
    out.dirs++;
    if (!st.isDirectory()) return 'not a directory';
    return mode === node.mode ? undefined : `mode ${mode.toString(8)}, the backup has ${node.mode.toString(8)}`;
  }
  out.files++;
  if (!st.isFile()) return 'not a regular file';
  if (st.size !== (node.size ?? 0)) return `${st.size} bytes, the backup has ${node.size ?? 0}`;
  if (mode !== node.mode) return `mode ${mode.toString(8)}, the backup has ${node.mode.toString(8)}`;
  out.bytes += st.size;
  return checkContent(repo, full, node.content ?? [], buf);
}

function checkContent(repo: Repository, full: string, chunks: readonly string[], buf: Buffer): string | undefined {
  const fd = openSync(fsPath(full), 'r');
  try {
    for (const [i, id] of chunks.entries()) {
      const loc = repo.index.get(id);
      if (!loc) return `chunk ${i} (${id.slice(0, 12)}) is not in the repository index: cannot be compared`;
      const n = readFully(fd, buf, loc.blobLength);
      if (n !== loc.blobLength || !repo.crypt.isBlob(buf.subarray(0, n), id)) return `content differs from the backup in chunk ${i}`;
    }
    return readSync(fd, buf, 0, 1, null) === 0 ? undefined : 'longer than the backup';
  } finally {
    closeSync(fd);
  }
}

function readFully(fd: number, buf: Buffer, length: number): number {
  let n = 0;
  while (n < length) {
    const r = readSync(fd, buf, n, length - n, null);
    if (r === 0) break;
    n += r;
  }
  return n;
}
