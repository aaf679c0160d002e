import { closeSync, fstatSync, openSync, readSync, type BigIntStats } from 'node:fs';
import type { Chunker } from '../codec/chunker.js';
import { fsPath } from '../core/byte-names.js';
import { BLOB_TYPE, type IndexedBlob } from '../repo/blob-entry.js';
import type { PackWriter } from '../repo/pack-writer.js';
import { metaOf, type WalkMeta } from '../source/fs/fs-walker.js';

const READ_BLOCK = 8 * 1024 * 1024;
/** Reads of a file that changes while it is read: the first and up to two more. */
export const READ_ATTEMPTS = 3;

/** What tells a file's content changed: size, mtime, ctime and inode (times as nanosecond strings). */
export type FileStamp = Pick<WalkMeta, 'size' | 'mtime' | 'ctime' | 'inode'>;

export interface FileJob {
  path: string;
  /** Size seen by the walk (for progress; the file is read to its end whatever it is now). */
  size: number;
  /** The stamp the walk saw; the first read must end with the file still so. Without one, the stamp when it is opened. */
  stamp?: FileStamp;
}

export type FileResult =
  | {
      ok: true;
      content: string[];
      size: number;
      newBlobs: number;
      newBytes: number;
      /** The file after the read that was kept. */
      meta: WalkMeta;
      /** Set when the file changed during every read: the content is the last read and may mix old and new bytes. */
      changed?: string;
    }
  | ReadFailure;

/** A file that could not be read: the backup goes on without it. */
type ReadFailure = { ok: false; errno: string; message: string };

/** Called after each block of a file is read (attempt 1, 2, …); lets a test change the file mid-read. */
export type ReadHook = (path: string, attempt: number) => void;

export interface KnownIds {
  has(id: Uint8Array): boolean;
}

export interface ChunkAcc {
  content: string[];
  size: number;
  newBlobs: number;
  newBytes: number;
}

/**
 * read → chunk → hash → (if new) hand to the pack writer, through one reused buffer
 * (the writer copies what it keeps), so memory does not grow with file sizes. One per thread.
 */
export class FileProcessor {
  private buf = Buffer.alloc(0);

  constructor(
    private readonly chunker: Chunker,
    private readonly writer: PackWriter,
    private readonly known: KnownIds,
    private readonly onRead?: ReadHook,
  ) {}

  /**
   * The read buffer: READ_BLOCK plus the chunker's maxSize, allocated once. Pages of it are
   * resident only once written, so a thread that reads small files keeps little of it; growing it
   * by doubling instead left every smaller buffer as garbage until V8's next full collection.
   */
  private bufferFor(): Buffer {
    if (this.buf.length === 0) this.buf = Buffer.allocUnsafeSlow(READ_BLOCK + this.chunker.params.maxSize);
    return this.buf;
  }

  /**
   * Reads and stores one file. A file that cannot be read gives a failed result (the backup goes
   * on without it); a failure to store (disk full, compression) is thrown. A file whose size,
   * mtime, ctime or inode after the read differ from before it (the walk's stamp, then the
   * stamp at open) changed while it was read: it is read again, up to READ_ATTEMPTS times, and
   * the last read is kept with `changed` saying how it changed.
   */
  async process(job: FileJob): Promise<FileResult> {
    let expected = job.stamp;
    let newBlobs = 0;
    let newBytes = 0;
    for (let attempt = 1; ; attempt++) {
      const r = await this.readOnce(job.path, attempt);
      if (!r.ok) return r;
      // chunks of a discarded read are stored already: they count as written
      newBlobs += r.acc.newBlobs;
      newBytes += r.acc.newBytes;
      const change = stampChange(expected ?? r.opened, r.after, r.acc.size);
      if (change === undefined || attempt === READ_ATTEMPTS) {
        const result: FileResult = { ok: true, ...r.acc, newBlobs, newBytes, meta: metaOf(r.after) };
        if (change !== undefined)
          result.changed = `changed while it was read, ${READ_ATTEMPTS} times in a row (${change}): the stored copy is the last read and may be inconsistent`;
        return result;
      }
      expected = undefined; // the next read starts from the file as it is when opened
    }
  }

  /** One read of the file to its end, with its stamp right after open and right after the read. */
  private async readOnce(path: string, attempt: number): Promise<{ ok: true; acc: ChunkAcc; opened: BigIntStats; after: BigIntStats } | ReadFailure> {
    const acc: ChunkAcc = { content: [], size: 0, newBlobs: 0, newBytes: 0 };
    let fd: number;
    let opened: BigIntStats;
    try {
      fd = openSync(fsPath(path), 'r');
    } catch (e) {
      return failure(e);
    }
    try {
      try {
        opened = fstatSync(fd, { bigint: true });
      } catch (e) {
        return failure(e);
      }
      const buf = this.bufferFor();
      let filled = 0;
      for (;;) {
        let read: { n: number; eof: boolean };
        try {
          read = fill(fd, buf, filled);
        } catch (e) {
          return failure(e);
        }
        this.onRead?.(path, attempt);
        filled += read.n;
        const used = this.chunkAll(filled, read.eof, acc);
        buf.copyWithin(0, used, filled);
        filled -= used;
        if (read.eof) break;
        await this.writer.maybeFlush();
      }
      let after: BigIntStats;
      try {
        after = fstatSync(fd, { bigint: true });
      } catch (e) {
        return failure(e);
      }
      await this.writer.maybeFlush();
      return { ok: true, acc, opened, after };
    } finally {
      closeSync(fd);
    }
  }

  /** Cuts chunks from buf[0, end); unless `final`, stops while fewer than maxSize bytes remain. Returns bytes consumed. */
  private chunkAll(end: number, final: boolean, acc: ChunkAcc): number {
    return storeChunks(this.chunker, this.writer, this.known, this.buf, end, final, acc);
  }

  takeWritten(): IndexedBlob[] {
    return this.writer.takeWritten();
  }

  finish(): Promise<IndexedBlob[]> {
    return this.writer.finish();
  }
}

/**
 * Cuts chunks from data[0, end) and hands the new ones to the pack writer; unless `final`, stops
 * while fewer than maxSize bytes remain (the next cut needs them). Returns the bytes consumed.
 * Shared by file backups and database dumps, so both chunk and deduplicate the same way.
 */
export function storeChunks(chunker: Chunker, writer: PackWriter, known: KnownIds, data: Buffer, end: number, final: boolean, acc: ChunkAcc): number {
  const max = chunker.params.maxSize;
  let pos = 0;
  while (pos < end && (final || end - pos >= max)) {
    const len = chunker.cut(data, pos, end);
    const chunk = data.subarray(pos, pos + len);
    const id = writer.crypt.blobId(chunk);
    const hex = id.toString('hex');
    acc.content.push(hex);
    if (!known.has(id) && writer.add(BLOB_TYPE.data, hex, chunk)) {
      acc.newBlobs++;
      acc.newBytes += len;
    }
    pos += len;
  }
  acc.size += pos;
  return pos;
}

/** Reads into buf[from, end); a regular file returns a short read only at its end. */
function fill(fd: number, buf: Buffer, from: number): { n: number; eof: boolean } {
  const want = buf.length - from;
  let n = 0;
  while (n < want) {
    const r = readSync(fd, buf, from + n, want - n, null);
    n += r;
    if (r === 0 || n < want) return { n, eof: true };
  }
  return { n, eof: false };
}

/** How the file after a read differs from `before` (or from the bytes read), or undefined when it does not. */
function stampChange(before: FileStamp | BigIntStats, after: BigIntStats, bytesRead: number): string | undefined {
  const b = 'mtimeNs' in before ? metaOf(before) : before;
  const a = metaOf(after);
  const diffs: string[] = [];
  if (b.size !== a.size || a.size !== bytesRead)
    diffs.push(b.size === a.size ? `size ${a.size} bytes but ${bytesRead} read` : `size ${b.size} -> ${a.size} bytes`);
  if (b.mtime !== a.mtime) diffs.push('mtime');
  if (b.ctime !== a.ctime) diffs.push('ctime');
  if (b.inode !== a.inode) diffs.push('inode');
  return diffs.length > 0 ? diffs.join(', ') : undefined;
}

function failure(e: unknown): ReadFailure {
  const err = e as NodeJS.ErrnoException;
  return { ok: false, errno: err.code ?? 'EIO', message: err.message };
}
