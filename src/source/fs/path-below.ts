import { lstatSync, mkdirSync, renameSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { fsPath } from '../../core/byte-names.js';
import { PRIVATE_DIR_MODE } from '../../core/private-files.js';
import { PrismError } from '../../errors/index.js';

/**
 * Path operations below a root directory that never follow a symlink below it: every component
 * of a relative path is looked at with lstat, so a symlink (or a file) where a directory is
 * expected stops the walk instead of leading out of the root. The root itself may be a symlink.
 */

/** `rel`'s components ('/'-separated; empty ones and '.' dropped); '..' is refused. */
function components(rel: string): string[] {
  const parts = rel.split('/').filter((p) => p.length > 0 && p !== '.');
  if (parts.includes('..')) throw new PrismError('RESTORE_PATH_REFUSED', `"${rel}" leaves the directory it is relative to.`, { path: rel });
  return parts;
}

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(fsPath(p), { throwIfNoEntry: false });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
}

/** What stands in the way of `rel`: the first proper ancestor that exists but is not a real directory. */
export function blockerBelow(root: string, rel: string): { path: string; kind: 'symlink' | 'file' } | undefined {
  const parts = components(rel);
  let sub = '';
  for (const part of parts.slice(0, -1)) {
    sub = sub ? `${sub}/${part}` : part;
    const st = lstatOrUndefined(join(root, sub));
    if (st === undefined) return undefined;
    if (!st.isDirectory()) return { path: sub, kind: st.isSymbolicLink() ? 'symlink' : 'file' };
  }
  return undefined;
}

/** lstat of `rel` when it is reached through real directories only; undefined when it is not there (or lies behind a symlink). */
export function lstatBelow(root: string, rel: string): Stats | undefined {
  return blockerBelow(root, rel) ? undefined : lstatOrUndefined(join(root, ...components(rel)));
}

function refuse(root: string, rel: string, blocker: { path: string; kind: string }): PrismError {
  return new PrismError('RESTORE_PATH_REFUSED', `${blocker.path} in ${root} is a ${blocker.kind}, not a directory: refusing to reach ${rel} through it.`, {
    root,
    path: rel,
    blocker: blocker.path,
  });
}

/** Creates `rel` and its missing parents as real directories; a symlink or file on the way is refused. */
export function mkdirBelow(root: string, rel: string, mode = 0o777): void {
  let sub = '';
  for (const part of components(rel)) {
    sub = sub ? `${sub}/${part}` : part;
    const p = join(root, sub);
    const st = lstatOrUndefined(p);
    if (st === undefined) {
      try {
        mkdirSync(fsPath(p), { mode });
        continue;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
    }
    const now = st ?? lstatSync(fsPath(p));
    if (!now.isDirectory()) throw refuse(root, rel, { path: sub, kind: now.isSymbolicLink() ? 'symlink' : 'file' });
  }
}

/** Renames `from` to `to` (both relative to root), creating `to`'s parents; neither is reached through a symlink. */
export function renameBelow(root: string, from: string, to: string): void {
  for (const rel of [from, to]) {
    const b = blockerBelow(root, rel);
    if (b) throw refuse(root, rel, b);
  }
  const parent = components(to).slice(0, -1).join('/');
  if (parent) mkdirBelow(root, parent, PRIVATE_DIR_MODE); // prism's own (the set-aside old state) or a parent the backup does not hold
  renameSync(fsPath(join(root, ...components(from))), fsPath(join(root, ...components(to))));
}
