/** A directory listing with metadata, stored as a blob of canonical JSON. */
export type NodeType = 'file' | 'dir' | 'symlink';

export interface TreeNode {
  name: string;
  type: NodeType;
  mode: number;
  uid: number;
  gid: number;
  /** Nanoseconds since the epoch, as a decimal string (exact). */
  mtime: string;
  ctime: string;
  inode: string;
  /** Files: byte size. */
  size?: number;
  /** Files: chunk ids in order. */
  content?: string[];
  /** Directories: tree id. */
  subtree?: string;
  /** Symlinks: target. */
  target?: string;
}

export interface Tree {
  nodes: TreeNode[];
}

/** Nodes sorted by name (byte order) so that equal directories encode to equal bytes. */
export function encodeTree(nodes: TreeNode[]): Buffer {
  const sorted = [...nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return Buffer.from(JSON.stringify({ nodes: sorted.map(canonicalNode) }), 'utf8');
}

export function decodeTree(data: Uint8Array): Tree {
  const parsed = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8')) as Tree;
  if (!parsed || !Array.isArray(parsed.nodes)) throw new Error('tree blob has no node list');
  return parsed;
}

function canonicalNode(n: TreeNode): TreeNode {
  const out: TreeNode = { name: n.name, type: n.type, mode: n.mode, uid: n.uid, gid: n.gid, mtime: n.mtime, ctime: n.ctime, inode: n.inode };
  if (n.type === 'file') {
    out.size = n.size ?? 0;
    out.content = n.content ?? [];
  } else if (n.type === 'dir') {
    out.subtree = n.subtree!;
  } else {
    out.target = n.target ?? '';
  }
  return out;
}
