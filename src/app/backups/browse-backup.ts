import { PrismError } from '../../errors/index.js';
import type { Repository, TreeNode } from '../../repo/index.js';
import { findNode, normalizeBackupPath, walkTree } from '../../snapshot/tree-walk.js';
import { openRepository, type AppContext } from '../context.js';
import { markingDamage } from '../integrity/mark-corrupted.js';
import { resolveBackup } from './resolve-backup.js';

export interface LsEntry {
  path: string;
  type: string;
  mode: number;
  size: number;
  mtime: string;
  target?: string;
}

async function open(ctx: AppContext, id: string): Promise<{ repo: Repository; tree: string }> {
  const repo = await openRepository(ctx);
  await repo.loadIndex();
  const m = await resolveBackup(repo, { id });
  return { repo, tree: m.tree! };
}

function entry(path: string, n: TreeNode): LsEntry {
  const e: LsEntry = { path, type: n.type, mode: n.mode, size: n.size ?? 0, mtime: new Date(Number(BigInt(n.mtime) / 1_000_000n)).toISOString() };
  if (n.type === 'symlink') e.target = n.target ?? '';
  return e;
}

/** The entries of a directory in a backup (or the one file), optionally recursive. */
export async function listBackupPath(ctx: AppContext, id: string, path = '', recursive = false): Promise<LsEntry[]> {
  return listAt(ctx, id, normalizeBackupPath('PATH', path), recursive);
}

/**
 * A path inside a backup given exactly, each name as `backup ls --json` prints it (a byte that is
 * not UTF-8 is its lone surrogate, a backslash is a backslash): "/a//b/./c/" → "a/b/c". A name
 * ".." or one holding NUL is refused: nothing outside the backup's tree can be named.
 */
export function exactBackupPath(flag: string, p: string): string {
  const parts = p.split('/').filter((s) => s.length > 0 && s !== '.');
  if (parts.some((s) => s === '..' || s.includes('\0')))
    throw new PrismError('INVALID_ARGUMENT', `${flag} "${p}" must be a path inside the backup, without "..".`, { flag, value: p });
  return parts.join('/');
}

/** listBackupPath of an exact path (see exactBackupPath). */
export async function listBackupDir(ctx: AppContext, id: string, path: string): Promise<LsEntry[]> {
  return listAt(ctx, id, exactBackupPath('path', path), false);
}

/** Entries below `path` (exact) whose name contains `query` (case-insensitive), in tree order, at most `cap`. */
export async function searchBackup(ctx: AppContext, id: string, path: string, query: string, cap: number): Promise<{ entries: LsEntry[]; truncated: boolean }> {
  const { repo, tree } = await open(ctx, id);
  const rel = exactBackupPath('path', path);
  const node = await findNode(repo, tree, rel);
  if (!node) throw new PrismError('INVALID_ARGUMENT', `"${rel}" is not in backup ${id}.`, { path: rel, missing: true });
  const needle = query.toLowerCase();
  const entries: LsEntry[] = [];
  if (node.type !== 'dir') return { entries: node.name.toLowerCase().includes(needle) ? [entry(rel, node)] : [], truncated: false };
  for await (const e of walkTree(repo, node.subtree!, rel)) {
    if (!e.node.name.toLowerCase().includes(needle)) continue;
    if (entries.length === cap) return { entries, truncated: true };
    entries.push(entry(e.path, e.node));
  }
  return { entries, truncated: false };
}

async function listAt(ctx: AppContext, id: string, rel: string, recursive: boolean): Promise<LsEntry[]> {
  const { repo, tree } = await open(ctx, id);
  const node = await findNode(repo, tree, rel);
  if (!node) throw new PrismError('INVALID_ARGUMENT', `"${rel}" is not in backup ${id}.`, { path: rel, missing: true });
  if (node.type !== 'dir') return [entry(rel, node)];
  const out: LsEntry[] = [];
  if (recursive) {
    for await (const e of walkTree(repo, node.subtree!, rel)) out.push(entry(e.path, e.node));
  } else {
    for (const n of (await repo.readTree(node.subtree!)).nodes) out.push(entry(rel ? `${rel}/${n.name}` : n.name, n));
  }
  return out;
}

export interface DiffReport {
  from: string;
  to: string;
  added: Array<{ path: string; type: string; size: number }>;
  removed: Array<{ path: string; type: string; size: number }>;
  modified: Array<{ path: string; type: string; old_size: number; new_size: number }>;
}

/** Added / removed / modified between two backups; identical subtrees are skipped unread. */
export async function diffBackups(ctx: AppContext, from: string, to: string): Promise<DiffReport> {
  const repo = await openRepository(ctx);
  await repo.loadIndex();
  const a = await resolveBackup(repo, { id: from });
  const b = await resolveBackup(repo, { id: to });
  const report: DiffReport = { from, to, added: [], removed: [], modified: [] };
  await diffTrees(repo, a.tree, b.tree, '', report);
  return report;
}

async function diffTrees(repo: Repository, ta: string | null, tb: string | null, prefix: string, r: DiffReport): Promise<void> {
  if (ta === tb) return;
  const na = new Map((ta ? (await repo.readTree(ta)).nodes : []).map((n) => [n.name, n]));
  const nb = new Map((tb ? (await repo.readTree(tb)).nodes : []).map((n) => [n.name, n]));
  for (const name of [...new Set([...na.keys(), ...nb.keys()])].sort()) {
    const x = na.get(name);
    const y = nb.get(name);
    const path = prefix ? `${prefix}/${name}` : name;
    if (x?.type === 'dir' || y?.type === 'dir') {
      if (x && y && x.type === 'dir' && y.type === 'dir') await diffTrees(repo, x.subtree!, y.subtree!, path, r);
      else {
        if (x) await addAll(repo, x, path, r.removed);
        if (y) await addAll(repo, y, path, r.added);
      }
      continue;
    }
    if (!x) r.added.push({ path, type: y!.type, size: y!.size ?? 0 });
    else if (!y) r.removed.push({ path, type: x.type, size: x.size ?? 0 });
    else if (x.type !== y.type || x.target !== y.target || (x.content ?? []).join() !== (y.content ?? []).join()) {
      r.modified.push({ path, type: y.type, old_size: x.size ?? 0, new_size: y.size ?? 0 });
    }
  }
}

async function addAll(repo: Repository, n: TreeNode, path: string, into: DiffReport['added']): Promise<void> {
  into.push({ path, type: n.type, size: n.size ?? 0 });
  if (n.type === 'dir') for await (const e of walkTree(repo, n.subtree!, path)) into.push({ path: e.path, type: e.node.type, size: e.node.size ?? 0 });
}

/** Streams a file of a backup to `write` chunk by chunk (verified). */
export async function dumpFile(ctx: AppContext, id: string, path: string, write: (chunk: Buffer) => Promise<void>): Promise<number> {
  const f = await fileAt(ctx, id, normalizeBackupPath('FILE', path));
  let n = 0;
  for await (const data of f.chunks()) {
    await write(data);
    n += data.length;
  }
  return n;
}

/** A file of a backup, by exact path (see exactBackupPath): its name, size and its bytes chunk by chunk (each verified), read from the repository. */
export async function backupFile(ctx: AppContext, id: string, path: string): Promise<BackupFile> {
  return fileAt(ctx, id, exactBackupPath('path', path));
}

export interface BackupFile {
  /** The path inside the backup. */
  path: string;
  /** The last name of the path. */
  name: string;
  size: number;
  chunks(): AsyncGenerator<Buffer>;
}

async function fileAt(ctx: AppContext, id: string, rel: string): Promise<BackupFile> {
  const { repo, tree } = await open(ctx, id);
  const node = await findNode(repo, tree, rel);
  if (!node) throw new PrismError('INVALID_ARGUMENT', `"${rel}" is not in backup ${id}.`, { path: rel, missing: true });
  if (node.type !== 'file')
    throw new PrismError('INVALID_ARGUMENT', `"${rel}" in backup ${id} is a ${node.type}, not a file; \`prism backup ls ${id} ${rel}\` lists it.`, {
      path: rel,
    });
  const content = node.content ?? [];
  return {
    path: rel,
    name: node.name,
    size: node.size ?? 0,
    async *chunks() {
      for (const c of content) yield await markingDamage(ctx, 'dump', () => repo.readBlob(c));
    },
  };
}
