import { chownSync, ftruncateSync, lchownSync, lstatSync, chmodSync, symlinkSync, writeSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fsPath } from '../core/byte-names.js';
import { mkdirPrivate } from '../core/private-files.js';
import { noProgress, type ProgressListener } from '../core/progress.js';
export type { FilesOutcome, RestoreProblem } from './restore-types.js';
export type { RestorePool } from './restore-pool.js';
import { isPrismError } from '../errors/index.js';
import { PLAN_BUDGET_BYTES, type FrameReuse, type PlanOptions, type Repository, type TreeNode } from '../repo/index.js';
import { setPathTimes, sameTime } from '../source/fs/file-times.js';
import { closeFile, createFile, finishFile, writeWholeFile } from '../source/fs/file-write.js';
import { mkdirBelow } from '../source/fs/path-below.js';
import { RestorePool } from './restore-pool.js';
import type { FilesOutcome, RestoreProblem } from './restore-types.js';
import { walkTree, type TreeEntry } from './tree-walk.js';

export interface RestoreTreeOptions {
  repo: Repository;
  tree: string;
  /** The entries to restore, already walked (e.g. by compareWithTarget); otherwise the tree is walked. */
  entries?: readonly TreeEntry[];
  /** Directory the backup's root is restored into (created if missing). */
  dest: string;
  /** Which backup paths to restore (a directory left out skips everything below it). */
  select?: (path: string) => boolean;
  /** Re-hash every chunk as it is read (checksum.verify_on_restore). */
  verify: boolean;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** Directory of the (local) repository, for restore workers; without it one thread restores. */
  repoRoot?: string;
  /** Threads writing files (the calling one included). */
  concurrency?: number;
  /** `dest` holds files of an interrupted run of the same restore: keep those already complete. */
  resume?: boolean;
  /** Workers started ahead (startRestoreWorkers) for this restore; the caller closes them. Otherwise restoreTree starts its own. */
  workers?: RestorePool;
  /**
   * Fetch the frames each thread needs ahead, pack by pack, within this budget (planned-reads.ts);
   * by default for a repository on a remote store, where every read is a request.
   */
  plan?: PlanOptions | false;
}

export interface RestoreTreeResult {
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  /** Files already complete in `dest` (from an interrupted earlier run) and left as they were. */
  skipped: number;
  problems: RestoreProblem[];
}

const isRoot = process.getuid?.() === 0;

/**
 * Restores a backup tree into `dest`: directories, then files (read in tree order, which is the
 * order they were packed, so compression frames are read once), then symlinks, then directory
 * metadata deepest first. Directories are made and files opened (O_NOFOLLOW, then checked to be
 * regular files) so that nothing is written through a symlink. Damaged files are named in
 * `problems`; the rest is restored.
 */
export async function restoreTree(opts: RestoreTreeOptions): Promise<RestoreTreeResult> {
  const { repo, dest } = opts;
  const progress = opts.onProgress ?? noProgress;
  const select = opts.select ?? (() => true);
  const result: RestoreTreeResult = { files: 0, dirs: 0, symlinks: 0, bytes: 0, skipped: 0, problems: [] };
  const dirs: TreeEntry[] = [];
  const files: TreeEntry[] = [];
  const links: TreeEntry[] = [];
  for await (const e of opts.entries ? toAsync(opts.entries) : walkTree(repo, opts.tree)) {
    if (!select(e.path)) continue;
    if (e.node.type === 'dir') dirs.push(e);
    else if (e.node.type === 'file') files.push(e);
    else links.push(e);
  }
  const totalBytes = files.reduce((s, f) => s + (f.node.size ?? 0), 0);
  // workers not started ahead start now: their start-up overlaps the directories being made
  const pool = opts.workers ?? startRestoreWorkers({ ...opts, expectedBytes: totalBytes });
  let totals: FilesOutcome;
  try {
    mkdirPrivate(fsPath(dest)); // the staging folder (or a new target): prism's own
    for (const d of dirs) mkdirBelow(dest, d.path, 0o700); // never through a symlink
    progress({ kind: 'start', totalFiles: files.length, totalBytes });
    totals = await restoreFilesInParallel(opts, files, totalBytes, pool, progress);
  } finally {
    if (pool !== opts.workers) await pool?.close();
  }
  result.files += totals.files;
  result.bytes += totals.bytes;
  result.skipped += totals.skipped;
  result.problems.push(...totals.problems);
  for (const l of links) {
    const full = join(dest, l.path);
    const path = fsPath(full);
    try {
      try {
        unlinkSync(path);
      } catch {
        /* not there */
      }
      symlinkSync(fsPath(l.node.target ?? ''), path);
      if (isRoot) lchownSync(path, l.node.uid, l.node.gid);
      setPathTimes(full, l.node.mtime);
      result.symlinks++;
    } catch (e) {
      result.problems.push(problem(l.path, e));
    }
  }
  for (let i = dirs.length - 1; i >= 0; i--) {
    const d = dirs[i]!;
    const full = join(dest, d.path);
    const path = fsPath(full);
    try {
      if (isRoot) chownSync(path, d.node.uid, d.node.gid);
      chmodSync(path, d.node.mode);
      setPathTimes(full, d.node.mtime);
      result.dirs++;
    } catch (e) {
      result.problems.push(problem(d.path, e));
    }
  }
  progress({ kind: 'finish' });
  return result;
}

/**
 * Writes file contents into `dest`. Files come in tree order, which is the order they were
 * packed, so each compression frame is read once (`reuse`, the calling thread's, keeps the
 * recent frames).
 */
export async function restoreFiles(
  repo: Repository,
  dest: string,
  files: readonly TreeEntry[],
  verify: boolean,
  resume: boolean,
  onFile: (bytes: number) => void,
  reuse: FrameReuse,
  signal?: AbortSignal,
  plan?: PlanOptions,
): Promise<FilesOutcome> {
  const out: FilesOutcome = { files: 0, bytes: 0, skipped: 0, problems: [] };
  // files an interrupted run completed are neither planned nor written
  const done = resume ? new Set(files.filter((f) => alreadyRestored(join(dest, f.path), f.node))) : undefined;
  const planned = plan ? repo.planReads(contentOf(files, done), reuse, plan) : undefined;
  try {
    for (const f of files) {
      signal?.throwIfAborted();
      const path = join(dest, f.path);
      try {
        if (done?.has(f)) out.skipped++;
        else await writeFile(repo, path, f.node, verify, reuse);
        out.files++;
        out.bytes += f.node.size ?? 0;
      } catch (e) {
        out.problems.push(problem(f.path, e));
      }
      onFile(f.node.size ?? 0);
    }
  } finally {
    if (planned) {
      planned.close();
      reuse.plan = undefined;
    }
  }
  return out;
}

/** The chunks of `files` in the order they are written (but those of the files in `skip`). */
function* contentOf(files: readonly TreeEntry[], skip: ReadonlySet<TreeEntry> | undefined): Generator<string> {
  for (const f of files) if (!skip?.has(f)) yield* f.node.content ?? [];
}

/** Below this many bytes the calling thread restores everything itself. */
const PARALLEL_BYTES = 16 * 1024 * 1024;

/** Slices per thread: small enough to balance the threads, large enough to keep frames together. */
const SLICES_PER_THREAD = 8;
/**
 * With planned reads each slice is planned on its own (a pack split between two slices costs a
 * request more): fewer, larger slices, of PLANNED_SLICE_BYTES or more, but more than one per
 * thread, so that the calling thread goes on with the next while a worker is still starting (it
 * opens the store itself).
 */
const PLANNED_SLICES_PER_THREAD = 4;
const PLANNED_SLICE_BYTES = 16 * 1024 * 1024;

/** How the threads of a restore fetch ahead, each with its share of the budget; undefined for reads as they come. */
function planOf(opts: RestoreTreeOptions, threads: number): PlanOptions | undefined {
  if (opts.plan === false || (opts.plan === undefined && !opts.repo.remote)) return undefined;
  const p = opts.plan ?? {};
  return { ...p, budgetBytes: Math.floor((p.budgetBytes ?? PLAN_BUDGET_BYTES) / threads) };
}

/**
 * Worker threads for a restore of about `expectedBytes` (none below PARALLEL_BYTES, or without a
 * local repository). Started before the restore is planned, their start-up (a few hundred ms of
 * CPU each) overlaps the planning instead of following it.
 */
export function startRestoreWorkers(opts: {
  repo: Repository;
  repoRoot?: string | undefined;
  concurrency?: number | undefined;
  verify: boolean;
  expectedBytes: number;
}): RestorePool | undefined {
  const threads = opts.expectedBytes < PARALLEL_BYTES || !opts.repoRoot ? 1 : Math.max(1, Math.min(opts.concurrency ?? 1, 8));
  if (threads === 1) return undefined;
  return new RestorePool(threads - 1, {
    repoRoot: opts.repoRoot!,
    unlocked: opts.repo.unlocked,
    config: opts.repo.config,
    index: opts.repo.shareIndex(),
    verify: opts.verify,
  });
}

/** Splits the files into contiguous slices of about equal bytes, handed to this thread and the pool's workers on demand. */
async function restoreFilesInParallel(
  opts: RestoreTreeOptions,
  files: TreeEntry[],
  total: number,
  pool: RestorePool | undefined,
  progress: ProgressListener,
): Promise<FilesOutcome> {
  const threads = (pool?.size ?? 0) + 1;
  const plan = planOf(opts, threads);
  const count =
    threads === 1
      ? 1
      : plan
        ? Math.min(threads * PLANNED_SLICES_PER_THREAD, Math.max(threads + 1, Math.floor(total / PLANNED_SLICE_BYTES)))
        : threads * SLICES_PER_THREAD;
  const slices: TreeEntry[][] = Array.from({ length: count }, () => []);
  let acc = 0;
  for (const f of files) {
    slices[Math.min(count - 1, Math.floor((acc / Math.max(total, 1)) * count))]!.push(f);
    acc += f.node.size ?? 0;
  }
  const onFile = (bytes: number): void => progress({ kind: 'advance', files: 1, bytes });
  const resume = opts.resume ?? false;
  const reuse = opts.repo.frameReuse();
  const local = (slice: TreeEntry[]) => restoreFiles(opts.repo, opts.dest, slice, opts.verify, resume, onFile, reuse, opts.signal, plan);
  const filled = slices.filter((s) => s.length > 0);
  const outcomes = pool
    ? await pool.run({ dest: opts.dest, resume, ...(plan ? { plan } : {}) }, filled, local, (files, bytes) => progress({ kind: 'advance', files, bytes }))
    : await Promise.all(filled.map(local)); // one slice at most
  const out: FilesOutcome = { files: 0, bytes: 0, skipped: 0, problems: [] };
  for (const o of outcomes) {
    out.files += o.files;
    out.bytes += o.bytes;
    out.skipped += o.skipped;
    out.problems.push(...o.problems);
  }
  return out;
}

async function* toAsync<T>(xs: readonly T[]): AsyncGenerator<T> {
  yield* xs;
}

/** A file whose size and mtime already match was completed by an earlier, interrupted run (mtime is set last). */
function alreadyRestored(path: string, node: TreeNode): boolean {
  try {
    const st = lstatSync(fsPath(path), { bigint: true, throwIfNoEntry: false });
    return (
      st !== undefined &&
      st.isFile() &&
      Number(st.size) === (node.size ?? 0) &&
      sameTime(st.mtimeNs, BigInt(node.mtime)) &&
      Number(st.mode & 0o7777n) === node.mode
    );
  } catch {
    return false;
  }
}

async function writeFile(repo: Repository, path: string, node: TreeNode, verify: boolean, reuse: FrameReuse): Promise<void> {
  const content = node.content ?? [];
  const owner = isRoot && (node.uid !== 0 || node.gid !== 0) ? { uid: node.uid, gid: node.gid } : undefined; // new files are root's already
  if (content.length <= 1) {
    // most files are one chunk: created, written and finished in one call
    const data = content.length === 1 ? await repo.readBlob(content[0]!, { verify, reuse }) : null; // valid until the next read
    writeWholeFile(path, data && isZeros(data) ? null : data, data?.length ?? 0, node.mode, node.mtime, owner);
    return;
  }
  const fd = createFile(path);
  try {
    let pos = 0;
    let hole = false;
    for (const id of content) {
      const data = await repo.readBlob(id, { verify, reuse }); // valid until the next read: written at once
      if (isZeros(data)) {
        hole = true; // keep sparse files sparse: seek over zero chunks
      } else {
        let off = 0;
        while (off < data.length) off += writeSync(fd, data, off, data.length - off, pos + off);
      }
      pos += data.length;
    }
    if (hole) ftruncateSync(fd, pos);
  } catch (e) {
    closeFile(fd, path);
    throw e;
  }
  finishFile(fd, path, node.mode, node.mtime, owner);
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Whether every byte of `data` is zero (compared a piece at a time: no buffer as big as a chunk). */
function isZeros(data: Buffer): boolean {
  if (data.length > 0 && data[0] !== 0) return false;
  for (let off = 0; off < data.length; off += ZEROS.length) {
    const piece = data.subarray(off, off + ZEROS.length);
    if (!piece.equals(piece.length === ZEROS.length ? ZEROS : ZEROS.subarray(0, piece.length))) return false;
  }
  return true;
}

function problem(path: string, e: unknown): RestoreProblem {
  if (isPrismError(e)) return { path, code: e.id, message: e.message };
  const err = e as NodeJS.ErrnoException;
  return { path, code: err.code ?? 'ERROR', message: err.message };
}
