import { isCanonicalName, parseDisplayedName } from '../core/byte-names.js';
import { PrismError } from '../errors/index.js';
import type { Repository, TreeNode } from '../repo/index.js';

export interface TreeEntry {
  /** Path relative to the backup root, '/'-separated. */
  path: string;
  node: TreeNode;
}

/**
 * A name that cannot leave its directory: no separators, no `.`/`..`, no NUL, not empty; and
 * canonical in core/byte-names' form, so two different names are two different names on disk.
 */
export function isSafeName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !name.includes('/') && !name.includes('\0') && isCanonicalName(name);
}

/**
 * Every entry of a backup tree, parents before children, in name order. A name that could
 * escape the target (crafted or damaged manifest) stops the walk with REPO_CORRUPT.
 */
export async function* walkTree(repo: Repository, treeId: string, prefix = '', opts: { recursive?: boolean } = {}): AsyncGenerator<TreeEntry> {
  const tree = await repo.readTree(treeId);
  let previous: string | undefined;
  for (const node of tree.nodes) {
    if (previous !== undefined && node.name <= previous) {
      // trees are written sorted with unique names: a repeat could make a path both a symlink and a directory
      throw new PrismError(
        'REPO_CORRUPT',
        `Backup tree ${treeId.slice(0, 12)} lists ${JSON.stringify(node.name)} twice or out of order under "${prefix || '/'}"; refusing it.`,
        { tree: treeId, name: node.name },
      );
    }
    previous = node.name;
    if (!isSafeName(node.name)) {
      throw new PrismError(
        'REPO_CORRUPT',
        `Backup tree ${treeId.slice(0, 12)} holds an unsafe entry name ${JSON.stringify(node.name)} under "${prefix || '/'}"; refusing it.`,
        {
          tree: treeId,
          name: node.name,
        },
      );
    }
    const path = prefix ? `${prefix}/${node.name}` : node.name;
    if (node.type === 'dir' && typeof node.subtree !== 'string')
      throw new PrismError('REPO_CORRUPT', `Directory ${path} in the backup has no subtree.`, { path });
    yield { path, node };
    if (node.type === 'dir' && opts.recursive !== false) yield* walkTree(repo, node.subtree!, path);
  }
}

/** Finds the node at a relative path ('' is the root, returned as a synthetic directory). */
export async function findNode(repo: Repository, rootTree: string, path: string): Promise<TreeNode | undefined> {
  const parts = path.split('/').filter((p) => p.length > 0 && p !== '.');
  let tree = rootTree;
  let node: TreeNode | undefined = { name: '', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: '0', ctime: '0', inode: '0', subtree: rootTree };
  for (const part of parts) {
    if (!node || node.type !== 'dir') return undefined;
    tree = node.subtree!;
    node = (await repo.readTree(tree)).nodes.find((n) => n.name === part);
  }
  return node;
}

/** Normalises a user-given path inside a backup ("./level-1-hot/" → "level-1-hot"); rejects escapes. */
export function normalizeBackupPath(flag: string, p: string): string {
  // each name as `ls` shows it: `\xff` is the byte of a name that is not UTF-8, `\\` a backslash
  const parts = p
    .split('/')
    .filter((s) => s.length > 0 && s !== '.')
    .map(parseDisplayedName);
  if (parts.some((s) => s === '..' || s.includes('/') || s.includes('\0')))
    throw new PrismError('INVALID_ARGUMENT', `${flag} "${p}" must be a path inside the backup, without "..".`, { flag, value: p });
  return parts.join('/');
}
