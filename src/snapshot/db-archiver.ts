import { createHash } from 'node:crypto';
import { Chunker, gearTable } from '../codec/chunker.js';
import { FrameCompressor, type CompressionSettings } from '../codec/compress.js';
import { sha256Hex } from '../codec/hash.js';
import { BLOB_TYPE, PackWriter, encodeTree, storedShare, type IndexedBlob, type Repository, type TreeNode } from '../repo/index.js';
import type { DumpObjectWriter, DumpResult, DumpSink } from '../source/db-dump.js';
import { storeChunks, type ChunkAcc } from './file-processor.js';

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

/**
 * Streams database dumps into the repository with the same FastCDC chunker, pack writer and
 * deduplication as files, one object per table (plus the schema), and writes a tree for them
 * apart from the file tree. Memory: one chunking buffer per open object.
 */
export async function archiveDatabases(opts: {
  repo: Repository;
  compression: CompressionSettings;
  jobs: readonly DbJob[];
  now: () => number;
  onBlobs: (blobs: IndexedBlob[]) => void;
}): Promise<DbArchiveResult> {
  const { repo } = opts;
  const index = await repo.loadIndex();
  const writer = new PackWriter(repo.backend, new FrameCompressor(opts.compression));
  const chunker = new Chunker(gearTable(repo.config.chunker.seed), { minSize: repo.config.chunker.min, avgSize: repo.config.chunker.avg, maxSize: repo.config.chunker.max });
  const sink = (blobs: IndexedBlob[]): void => {
    for (const b of blobs) index.add(b);
    opts.onBlobs(blobs);
  };
  const out: DbArchiveResult = { tree: '', items: [], newBlobs: 0, newBytes: 0, packs: 0 };
  const dirs: TreeNode[] = [];
  const contents: string[][][] = [];
  try {
    for (const job of opts.jobs) {
      const started = opts.now();
      const nodes: TreeNode[] = [];
      const acc = { newBlobs: 0, newBytes: 0, bytes: 0, contents: [] as string[][] };
      const dumpSink: DumpSink = {
        open: (object) =>
          new ObjectWriter(chunker, writer, index, (content, size, a) => {
            nodes.push(objectNode(object, content, size));
            acc.contents.push(content);
            acc.newBlobs += a.newBlobs;
            acc.newBytes += a.newBytes;
            acc.bytes += size;
            sink(writer.takeWritten());
          }),
      };
      const result = await job.dump(dumpSink);
      const data = encodeTree(nodes);
      const id = sha256Hex(data);
      if (!repo.index.hasHex(id)) writer.add(BLOB_TYPE.tree, id, data);
      dirs.push({ ...objectNode(job.name, [], 0), type: 'dir', mode: 0o40700, subtree: id });
      out.newBlobs += acc.newBlobs;
      out.newBytes += acc.newBytes;
      out.items.push({ name: job.name, result, bytes: acc.bytes, newBytes: acc.newBytes, storedBytes: 0, durationMs: opts.now() - started });
      contents.push(acc.contents);
    }
    const data = encodeTree(dirs);
    out.tree = sha256Hex(data);
    if (!repo.index.hasHex(out.tree)) writer.add(BLOB_TYPE.tree, out.tree, data);
    sink(await writer.finish());
  } catch (e) {
    await writer.abort();
    throw e;
  }
  out.packs = writer.packsWritten;
  out.items.forEach((item, i) => {
    for (const content of contents[i]!) {
      for (const id of content) {
        const loc = index.get(id);
        if (loc) item.storedBytes += storedShare(loc);
      }
    }
  });
  return out;
}

function objectNode(name: string, content: string[], size: number): TreeNode {
  return { name, type: 'file', mode: 0o100600, uid: 0, gid: 0, mtime: '0', ctime: '0', inode: '0', size, content };
}

const BUFFER_BYTES = 8 * 1024 * 1024;

/** Buffers a stream just enough to cut FastCDC chunks (maxSize ahead), hashing the whole object on the way. */
class ObjectWriter implements DumpObjectWriter {
  private readonly buf: Buffer;
  private filled = 0;
  private readonly acc: ChunkAcc = { content: [], size: 0, newBlobs: 0, newBytes: 0 };
  private readonly hash = createHash('sha256');

  constructor(
    private readonly chunker: Chunker,
    private readonly writer: PackWriter,
    private readonly known: { has(id: Uint8Array): boolean },
    private readonly done: (content: string[], size: number, acc: ChunkAcc) => void,
  ) {
    this.buf = Buffer.allocUnsafeSlow(BUFFER_BYTES + chunker.params.maxSize);
  }

  async write(data: Uint8Array): Promise<void> {
    this.hash.update(data);
    let off = 0;
    while (off < data.length) {
      const n = Math.min(data.length - off, this.buf.length - this.filled);
      this.buf.set(data.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled === this.buf.length) {
        this.cut(false);
        await this.writer.maybeFlush();
      }
    }
  }

  async close(): Promise<{ bytes: number; sha256: string }> {
    this.cut(true);
    await this.writer.maybeFlush();
    this.done(this.acc.content, this.acc.size, this.acc);
    return { bytes: this.acc.size, sha256: this.hash.digest('hex') };
  }

  private cut(final: boolean): void {
    const used = storeChunks(this.chunker, this.writer, this.known, this.buf, this.filled, final, this.acc);
    this.buf.copyWithin(0, used, this.filled);
    this.filled -= used;
  }
}
