import { lstatSync, type BigIntStats, type Stats } from 'node:fs';
import { join } from 'node:path';
import { fsPath } from '../core/byte-names.js';
import type { Repository, TreeNode } from '../repo/index.js';
import { listNames } from '../source/fs/fs-names.js';
import { sameTime } from '../source/fs/file-times.js';
import { lstatBelow } from '../source/fs/path-below.js';
import { walkTree, type TreeEntry } from './tree-walk.js';

export interface TargetChange {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  bytes: number;
}

export interface TargetPlan {
  create: TargetChange[];
  overwrite: TargetChange[];
  remove: TargetChange[];
  unchanged: number;
  /** The selected entries of the backup, in tree order (so the restore need not walk it again). */
  entries: TreeEntry[];
}

/**
 * What restoring the selected part of a backup into `target` would do, judged by type, size and
 * mtime: entries to create, files to overwrite, entries to delete (present in the target's
 * restored folders but not in the backup). Reads metadata only; changes nothing. Never looks
 * through a symlink in the target: what lies behind one is not the target's.
 */
export async function compareWithTarget(
  repo: Repository,
  tree: string,
  target: string,
  units: readonly string[],
  select: (p: string) => boolean,
): Promise<TargetPlan> {
  const plan: TargetPlan = { create: [], overwrite: [], remove: [], unchanged: 0, entries: [] };
  const inBackup = new Set<string>();
  // units absent from the target: everything in them is created, no need to look
  const absent = new Set(units.filter((u) => lstatBelow(target, u) === undefined));
  // directories of the target reached through directories only, so their entries may be looked at
  const realDirs = new Set<string>();
  for await (const entry of walkTree(repo, tree)) {
    const { path, node } = entry;
    if (!select(path)) continue;
    const unit = units.find((u) => path === u || path.startsWith(`${u}/`));
    if (unit === undefined) {
      if (units.some((u) => u.startsWith(`${path}/`))) plan.entries.push(entry); // a parent of a unit
      continue;
    }
    plan.entries.push(entry);
    inBackup.add(path);
    // a unit's folders above it were looked at for `absent`; below it, the parent was seen before
    const reachable = !absent.has(unit) && (path === unit || realDirs.has(path.slice(0, path.lastIndexOf('/'))));
    const live = reachable ? statOrUndefined(join(target, path)) : undefined;
    if (live?.isDirectory()) realDirs.add(path);
    if (!live) plan.create.push(change(path, node));
    else if (differs(live, node)) plan.overwrite.push(change(path, node));
    else plan.unchanged++;
  }
  for (const u of units) {
    for (const [path, st] of listTree(target, u)) {
      if (!inBackup.has(path) && select(path))
        plan.remove.push({ path, type: st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'file', bytes: st.isFile() ? st.size : 0 });
    }
  }
  return plan;
}

function change(path: string, node: TreeNode): TargetChange {
  return { path, type: node.type, bytes: node.type === 'file' ? (node.size ?? 0) : 0 };
}

function statOrUndefined(p: string) {
  try {
    return lstatSync(fsPath(p), { bigint: true, throwIfNoEntry: false });
  } catch {
    return undefined; // e.g. a parent that is a file
  }
}

function differs(st: BigIntStats, node: TreeNode): boolean {
  if (node.type === 'dir') return !st.isDirectory();
  if (node.type === 'symlink') return !st.isSymbolicLink();
  return !st.isFile() || Number(st.size) !== (node.size ?? 0) || !sameTime(st.mtimeNs, BigInt(node.mtime));
}

/** Every path below target/unit (relative to target), the unit itself included. */
function* listTree(target: string, unit: string): Generator<[string, Stats]> {
  const full = join(target, unit);
  const st = lstatBelow(target, unit);
  if (!st) return;
  yield [unit, st];
  if (!st.isDirectory()) return;
  for (const name of listNames(full).sort()) yield* listTree(target, `${unit}/${name}`);
}
