/** Test helpers that write backup trees straight into a sandbox's repository, as a crafted repository could hold them. */
import { sha256Hex } from '../codec/hash.js';
import { FrameCompressor } from '../codec/compress.js';
import { BLOB_TYPE, encodeTree, type Manifest, type Repository, type TreeNode } from '../repo/index.js';
import { openRepo } from './damage.js';
import type { Sandbox } from './fixtures.js';

export interface TreeStore {
  repo: Repository;
  /** Stores a tree (`sorted: false`: as given, unsorted, repeats kept) and returns its id. */
  store: (nodes: TreeNode[], sorted?: boolean) => string;
  /** Writes the pack and indexes the trees stored. */
  finish: () => Promise<void>;
}

export async function treeStore(sb: Sandbox): Promise<TreeStore> {
  const repo = await openRepo(sb);
  const writer = repo.packWriter(new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 3 }));
  const store = (nodes: TreeNode[], sorted = true): string => {
    const data = sorted ? encodeTree(nodes) : Buffer.from(JSON.stringify({ nodes }));
    const id = sha256Hex(data);
    writer.add(BLOB_TYPE.tree, id, data);
    return id;
  };
  return { repo, store, finish: async () => repo.writeIndex(await writer.finish()) };
}

/** A copy of backup `real` whose root tree also holds `extra` top-level entries. */
export async function withExtraTopLevel(
  sb: Sandbox,
  real: Manifest,
  id: string,
  extra: (store: (nodes: TreeNode[]) => string) => TreeNode[],
): Promise<Manifest> {
  const { repo, store, finish } = await treeStore(sb);
  const tree = store([...(await repo.readTree(real.tree!)).nodes, ...extra(store)]);
  await finish();
  const m: Manifest = { ...real, id, tree, checksum: `sha256:${tree}`, started_at: '2030-01-01T00:00:00.000Z' };
  await repo.saveManifest(m);
  return m;
}

export const emptyFile = (name: string): TreeNode => ({
  name,
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: '1700000000000000000',
  ctime: '0',
  inode: '0',
  size: 0,
  content: [],
});

export const dirOf = (name: string, subtree: string): TreeNode => ({
  name,
  type: 'dir',
  mode: 0o755,
  uid: 0,
  gid: 0,
  mtime: '1700000000000000000',
  ctime: '0',
  inode: '0',
  subtree,
});
