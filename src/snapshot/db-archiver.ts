import { Chunker, gearTable } from '../codec/chunker.js';
import { FrameCompressor, type CompressionSettings } from '../codec/compress.js';
import { idListDigest } from '../codec/hash.js';
import { BLOB_TYPE, PackWriter, encodeTree, storedShare, type IndexedBlob, type Repository, type TreeNode } from '../repo/index.js';
import { SinkError, type DumpResult, type DumpSink } from '../source/db/db-dump.js';
import { chunkWorkerInit, chunkerParams } from './archiver.js';
import type { KnownIds } from './file-processor.js';
import { ObjectChunker } from './object-chunker.js';
import { ObjectWorker, type StreamedObject } from './object-worker.js';

/** One database to dump: its name in the backup and the dumper (from source/), given a sink. */
export interface DbJob {
  name: string;
  dump: (sink: DumpSink) => Promise<DumpResult>;
}

export interface DbArchiveItem {
  name: string;
  result: DumpResult;
  bytes: number;
  newBytes: number;
  storedBytes: number;
  durationMs: number;
}

export interface DbArchiveResult {
  /** Root of the database tree: one directory per database, one file node per object. */
  tree: string;
  items: DbArchiveItem[];
  newBlobs: number;
  newBytes: number;
  packs: number;
}

export interface DbArchiveOptions {
  repo: Repository;
  repoRoot: string;
  compression: CompressionSettings;
  /** Chunk, hash and compress on a worker thread (else on this one). */
  chunkWorker: boolean;
  onBlobs: (blobs: IndexedBlob[]) => void;
}

/** A database archive made ready by prepareDbArchive: `run` it once, or `abort` it. */
export interface DbArchiver {
  run(jobs: readonly DbJob[], now: () => number): Promise<DbArchiveResult>;
  /** Stops the chunk worker without storing anything (when the backup fails before `run`). */
  abort(): Promise<void>;
}

/**
 * Streams database dumps into the repository with the same FastCDC chunker, pack writer and
 * deduplication as files, one object per table (plus the schema), and writes a tree for them
 * apart from the file tree. With `chunkWorker` a worker thread does the chunking, hashing and
 * compression, so the dump tools stream at their own pace when there is a core for it.
 */
export async function archiveDatabases(opts: DbArchiveOptions & { jobs: readonly DbJob[]; now: () => number }): Promise<DbArchiveResult> {
  return (await prepareDbArchive(opts)).run(opts.jobs, opts.now);
}

/**
 * Gets a database archive ready: the chunk worker is started here, so that it boots (a thread,
 * its modules) while the caller does other work, on a core that is otherwise idle then, instead
 * of beside the first COPY. Blobs stored after this call are unknown to the worker; one it meets
 * again is stored a second time (the index keeps the first copy, prune drops the other).
 */
export async function prepareDbArchive(opts: DbArchiveOptions): Promise<DbArchiver> {
  const { repo } = opts;
  const index = await repo.loadIndex();
  const writer = repo.packWriter(new FrameCompressor(opts.compression));
  const chunker = new Chunker(gearTable(repo.chunkerSeed), chunkerParams(repo));
  const sink = (blobs: IndexedBlob[]): void => {
    for (const b of blobs) index.add(b);
    opts.onBlobs(blobs);
  };
  const remote = opts.chunkWorker ? new ObjectWorker(chunkWorkerInit(repo, opts.repoRoot, opts.compression), sink) : undefined;
  const objects = remote ?? new InlineObjects(chunker, writer, index);
  const abort = async (): Promise<void> => {
    await Promise.all([writer.abort(), remote?.abort()]);
  };
  return {
    abort,
    run: async (jobs, now) => {
      const out: DbArchiveResult = { tree: '', items: [], newBlobs: 0, newBytes: 0, packs: 0 };
      const dirs: TreeNode[] = [];
      const contents: string[][][] = [];
      try {
        for (const job of jobs) {
          const started = now();
          const nodes: TreeNode[] = [];
          const acc = { newBlobs: 0, newBytes: 0, bytes: 0, contents: [] as string[][] };
          const dumpSink: DumpSink = {
            open: (object) => {
              const o = objects.open();
              return {
                write: (data) => o.write(data).catch((e: unknown) => Promise.reject(new SinkError(e))),
                close: async () => {
                  const a = await o.close().catch((e: unknown) => Promise.reject(new SinkError(e)));
                  nodes.push(objectNode(object, a.content, a.size));
                  acc.contents.push(a.content);
                  acc.newBlobs += a.newBlobs;
                  acc.newBytes += a.newBytes;
                  acc.bytes += a.size;
                  if (!remote) sink(writer.takeWritten());
                  return { bytes: a.size, checksum: idListDigest(a.content) };
                },
              };
            },
          };
          const result = await job.dump(dumpSink).catch((e: unknown) => Promise.reject(e instanceof SinkError ? e.reason : e));
          const data = encodeTree(nodes);
          const id = repo.crypt.blobIdHex(data);
          if (!repo.index.hasHex(id)) writer.add(BLOB_TYPE.tree, id, data);
          dirs.push({ ...objectNode(job.name, [], 0), type: 'dir', mode: 0o40700, subtree: id });
          out.newBlobs += acc.newBlobs;
          out.newBytes += acc.newBytes;
          out.items.push({ name: job.name, result, bytes: acc.bytes, newBytes: acc.newBytes, storedBytes: 0, durationMs: now() - started });
          contents.push(acc.contents);
        }
        const data = encodeTree(dirs);
        out.tree = repo.crypt.blobIdHex(data);
        if (!repo.index.hasHex(out.tree)) writer.add(BLOB_TYPE.tree, out.tree, data);
        // the worker's last pack and this thread's (the trees) are committed at the same time
        const [remoteDone, blobs] = await Promise.all([remote?.finish(), writer.finish()]);
        if (remoteDone) out.packs += remoteDone.packs;
        sink(blobs);
      } catch (e) {
        await abort();
        throw e;
      }
      out.packs += writer.packsWritten;
      out.items.forEach((item, i) => {
        for (const content of contents[i]!) {
          for (const id of content) {
            const loc = index.get(id);
            if (loc) item.storedBytes += storedShare(loc);
          }
        }
      });
      return out;
    },
  };
}

function objectNode(name: string, content: string[], size: number): TreeNode {
  return { name, type: 'file', mode: 0o100600, uid: 0, gid: 0, mtime: '0', ctime: '0', inode: '0', size, content };
}

/** Chunks and hashes objects on this thread (no chunk worker). */
class InlineObjects {
  constructor(
    private readonly chunker: Chunker,
    private readonly writer: PackWriter,
    private readonly known: KnownIds,
  ) {}

  open(): StreamedObject {
    const chunks = new ObjectChunker(this.chunker, this.writer, this.known);
    return { write: (data) => chunks.write(data), close: () => chunks.close() };
  }
}
