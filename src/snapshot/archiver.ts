import { Chunker, gearTable } from '../codec/chunker.js';
import { FrameCompressor, type CompressionSettings } from '../codec/compress.js';
import { noProgress, type ProgressListener } from '../core/progress.js';
import { BLOB_TYPE, PackWriter, encodeTree, storedShare, type IndexedBlob, type Repository, type TreeNode } from '../repo/index.js';
import type { WalkMeta, WalkNode, WalkResult } from '../source/fs/fs-walker.js';
import { FileProcessor, type FileJob, type FileResult, type ReadHook } from './file-processor.js';
import { runJobs } from './worker-pool.js';
import type { ChunkWorkerSetup } from './chunk-worker-start.js';
import type { WorkerInit } from './worker-protocol.js';

export interface ArchiveWarning {
  path: string;
  /** FILE_CHANGED: the file changed during every read; it is stored as last read. */
  code: 'PERMISSION_DENIED' | 'SKIPPED' | 'FILE_CHANGED';
  message: string;
}

export interface ArchivePlan {
  /** Files that must be read (the rest reuse the parent's chunk lists). */
  filesToRead: number;
  bytesToRead: number;
}

export interface ArchiveOptions {
  repo: Repository;
  /** Directory of the (local) repository, for the chunk workers. */
  repoRoot: string;
  walk: WalkResult;
  /** Root tree of the backup whose unchanged files are reused (incremental); none for full. */
  parentTree?: string | undefined;
  compression: CompressionSettings;
  concurrency: number;
  onProgress?: ProgressListener;
  /** Stops the run between batches. */
  signal?: AbortSignal;
  /** Called after planning, before anything is written (disk-space preflight). */
  beforeWrite?: (plan: ArchivePlan) => Promise<void>;
  /** Index entries of every pack as it lands (so a failed run can still index them). */
  onBlobs: (blobs: IndexedBlob[]) => void;
  /** Called after each block read (tests change files mid-read with it); files are then read on this thread only. */
  onRead?: ReadHook;
}

export interface ArchiveResult {
  tree: string;
  files: number;
  dirs: number;
  symlinks: number;
  originalBytes: number;
  storedBytes: number;
  filesRead: number;
  bytesRead: number;
  newBlobs: number;
  newBytes: number;
  packs: number;
  warnings: ArchiveWarning[];
}

interface PlannedRead {
  node: TreeNode;
  path: string;
  size: number;
}

interface PlannedDir {
  node: TreeNode;
  children: Array<TreeNode | PlannedDir>;
}

/**
 * Directories whose every file is unchanged since the parent, settled while planning: their tree
 * is encoded at once and only its id kept (an unchanged directory's tree is the parent's, already
 * stored), so a no-change backup does not hold the whole file tree until the end.
 */
interface SettledTrees {
  /** Encoded trees not yet stored (a directory whose metadata changed), written before the others. */
  trees: Array<[id: string, data: Buffer]>;
  /** Of the files in settled directories (the rest are counted by writeTrees). */
  originalBytes: number;
  storedBytes: number;
}

/** Below this many bytes to read, files are processed on the main thread alone (no worker start-up). */
const INLINE_BYTES = 8 * 1024 * 1024;
const BATCH_BYTES = 8 * 1024 * 1024;
const BATCH_FILES = 512;

/** Walk result + parent → chunks and trees in the repository → root tree id and statistics. */
export async function archive(opts: ArchiveOptions): Promise<ArchiveResult> {
  const { repo } = opts;
  const progress = opts.onProgress ?? noProgress;
  const index = await repo.loadIndex();
  const reads: PlannedRead[] = [];
  const settled: SettledTrees = { trees: [], originalBytes: 0, storedBytes: 0 };
  const root = await plan(repo, opts.walk.root, opts.parentTree, reads, settled);
  const bytesToRead = reads.reduce((s, r) => s + r.size, 0);
  await opts.beforeWrite?.({ filesToRead: reads.length, bytesToRead });

  const result: ArchiveResult = {
    tree: '',
    files: opts.walk.files,
    dirs: opts.walk.dirs,
    symlinks: opts.walk.symlinks,
    originalBytes: settled.originalBytes,
    storedBytes: settled.storedBytes,
    filesRead: 0,
    bytesRead: 0,
    newBlobs: 0,
    newBytes: 0,
    packs: 0,
    warnings: opts.walk.problems.map((p) => ({ ...p })),
  };
  const sink = (blobs: IndexedBlob[]): void => {
    for (const b of blobs) index.add(b);
    opts.onBlobs(blobs);
  };
  const mainWriter = repo.packWriter(new FrameCompressor(opts.compression));
  progress({ kind: 'start', totalFiles: reads.length, totalBytes: bytesToRead });

  const batches = makeBatches(reads);
  const apply = (batch: number, results: FileResult[]): void => {
    opts.signal?.throwIfAborted();
    const items = batches[batch]!;
    let bytes = 0;
    results.forEach((r, i) => {
      const item = items[i]!;
      if (r.ok) {
        item.node.content = r.content;
        item.node.size = r.size;
        if (r.changed === undefined) {
          // stored as the file is now (it may have changed between the walk and a consistent re-read)
          const { mode, uid, gid, mtime, ctime, inode } = r.meta;
          Object.assign(item.node, { mode, uid, gid, mtime, ctime, inode });
        } else {
          result.warnings.push({ path: item.path, code: 'FILE_CHANGED', message: r.changed });
        }
        result.filesRead++;
        result.bytesRead += r.size;
        result.newBlobs += r.newBlobs;
        result.newBytes += r.newBytes;
        bytes += r.size;
      } else {
        item.node.content = undefined; // dropped from the tree below
        result.warnings.push({
          path: item.path,
          code: r.errno === 'EACCES' || r.errno === 'EPERM' ? 'PERMISSION_DENIED' : 'SKIPPED',
          message: r.message,
        });
      }
    });
    progress({ kind: 'advance', files: results.length, bytes });
  };

  // the walk's stamp (still in the node): the first read must end with the file still so
  const jobs = batches.map((b) =>
    b.map(({ node: n, path, size }): FileJob => ({ path, size, stamp: { size, mtime: n.mtime, ctime: n.ctime, inode: n.inode } })),
  );
  const local = new FileProcessor(new Chunker(gearTable(repo.chunkerSeed), chunkerParams(repo)), mainWriter, index, opts.onRead);
  const threads = bytesToRead < INLINE_BYTES || opts.onRead ? 1 : opts.concurrency;
  const init = () => chunkWorkerInit(repo, opts.repoRoot, opts.compression);
  try {
    const outcome = await runJobs(threads, init, jobs, local, apply, sink);
    result.packs += outcome.packs;
  } catch (e) {
    await mainWriter.abort();
    throw e;
  }

  const contents: string[][] = [];
  for (const [id, data] of settled.trees) if (!repo.index.hasHex(id)) mainWriter.add(BLOB_TYPE.tree, id, data);
  settled.trees.length = 0;
  result.tree = await writeTrees(root, mainWriter, repo, result, contents);
  sink(await mainWriter.finish());
  for (const content of contents) {
    for (const id of content) {
      const loc = index.get(id);
      if (loc) result.storedBytes += storedShare(loc);
    }
  }
  result.packs += mainWriter.packsWritten;
  progress({ kind: 'finish' });
  return result;
}

/** What a chunk worker thread needs of the repository (keys in memory only); `known` is a snapshot of the index's ids. */
export function chunkWorkerInit(repo: Repository, repoRoot: string, compression: CompressionSettings): ChunkWorkerSetup {
  return { repo, data: chunkWorkerData(repo, repoRoot, compression) };
}

function chunkWorkerData(repo: Repository, repoRoot: string, compression: CompressionSettings): WorkerInit {
  return {
    repoRoot,
    store: repo.storeOptions,
    chunkerSeed: repo.chunkerSeed,
    secrets: repo.crypt.secrets,
    chunker: chunkerParams(repo),
    compression,
    known: repo.index.exportIdSet(),
  };
}

/** The chunker parameters of a repository (fixed when it was created). */
export function chunkerParams(repo: Repository) {
  const c = repo.config.chunker;
  return { minSize: c.min, avgSize: c.avg, maxSize: c.max };
}

function makeBatches<T extends { size: number }>(reads: T[]): T[][] {
  const batches: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const r of reads) {
    if (cur.length > 0 && (bytes + r.size > BATCH_BYTES || cur.length >= BATCH_FILES)) {
      batches.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(r);
    bytes += r.size;
  }
  if (cur.length > 0) batches.push(cur);
  return batches;
}

function metaNode(w: WalkNode): TreeNode {
  const m = w.meta;
  return { name: w.name, type: w.kind, mode: m.mode, uid: m.uid, gid: m.gid, mtime: m.mtime, ctime: m.ctime, inode: m.inode };
}

/** Unchanged since the parent: same size, mtime, ctime and inode. */
function unchanged(prev: TreeNode | undefined, m: WalkMeta): prev is TreeNode {
  return (
    prev !== undefined &&
    prev.type === 'file' &&
    prev.size === m.size &&
    prev.mtime === m.mtime &&
    prev.ctime === m.ctime &&
    prev.inode === m.inode &&
    Array.isArray(prev.content)
  );
}

/**
 * Builds the tree skeleton; files unchanged since the parent get its chunk list, the rest go to
 * `reads`. A directory with nothing to read is settled at once (see SettledTrees): it comes back
 * as its finished node.
 */
async function plan(
  repo: Repository,
  dir: WalkNode,
  parentTree: string | undefined,
  reads: PlannedRead[],
  settled: SettledTrees,
): Promise<PlannedDir | TreeNode> {
  const prev = new Map<string, TreeNode>();
  if (parentTree) for (const n of (await repo.readTree(parentTree)).nodes) prev.set(n.name, n);
  const planned: PlannedDir = { node: metaNode(dir), children: [] };
  const readsBefore = reads.length;
  let open = false;
  for (const child of dir.children ?? []) {
    const node = metaNode(child);
    const before = prev.get(child.name);
    if (child.kind === 'dir') {
      const sub = await plan(repo, child, before?.type === 'dir' ? before.subtree : undefined, reads, settled);
      if ('children' in sub) open = true;
      planned.children.push(sub);
      continue;
    }
    if (child.kind === 'symlink') {
      node.target = child.target ?? '';
    } else if (unchanged(before, child.meta) && before.content!.every((id) => repo.index.hasHex(id))) {
      // (a chunk the index lost, or that was found damaged, is read and stored afresh)
      node.size = before.size!;
      node.content = before.content!;
    } else {
      node.size = child.meta.size;
      reads.push({ node, path: child.path, size: node.size });
    }
    planned.children.push(node);
  }
  delete dir.children; // the walk's copy is no longer needed: keep one tree in memory, not two
  if (open || reads.length > readsBefore) return planned;
  const nodes = planned.children as TreeNode[];
  for (const c of nodes) {
    if (c.type !== 'file') continue;
    settled.originalBytes += c.size ?? 0;
    for (const id of c.content!) {
      const loc = repo.index.get(id);
      if (loc) settled.storedBytes += storedShare(loc);
    }
  }
  const data = encodeTree(nodes);
  const id = repo.crypt.blobIdHex(data);
  if (!repo.index.hasHex(id)) settled.trees.push([id, data]);
  planned.node.subtree = id;
  return planned.node;
}

async function writeTrees(dir: PlannedDir | TreeNode, writer: PackWriter, repo: Repository, result: ArchiveResult, contents: string[][]): Promise<string> {
  if (!('children' in dir)) return dir.subtree!; // settled while planning
  const nodes: TreeNode[] = [];
  for (const c of dir.children) {
    if ('children' in c) {
      c.node.subtree = await writeTrees(c, writer, repo, result, contents);
      nodes.push(c.node);
    } else if (c.type !== 'file') {
      nodes.push(c);
    } else if (c.content) {
      result.originalBytes += c.size ?? 0;
      contents.push(c.content);
      nodes.push(c);
    } else {
      result.files--; // unreadable: left out
    }
  }
  const data = encodeTree(nodes);
  const id = repo.crypt.blobIdHex(data);
  if (!repo.index.hasHex(id)) writer.add(BLOB_TYPE.tree, id, data);
  await writer.maybeFlush();
  return id;
}
