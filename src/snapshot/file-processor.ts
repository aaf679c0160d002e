import { closeSync, openSync, readSync } from 'node:fs';
import type { Chunker } from '../codec/chunker.js';
import { fsPath } from '../core/byte-names.js';
import { sha256 } from '../codec/hash.js';
import { BLOB_TYPE, type IndexedBlob } from '../repo/blob-entry.js';
import type { PackWriter } from '../repo/pack-writer.js';

const READ_BLOCK = 8 * 1024 * 1024;

export interface FileJob {
  path: string;
  /** Size seen by the walk (for progress; the file is read to its end whatever it is now). */
  size: number;
}

export type FileResult =
  | { ok: true; content: string[]; size: number; newBlobs: number; newBytes: number }
  | { ok: false; errno: string; message: string };

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
  ) {}

  /** The read buffer, grown to hold the whole file (plus one byte to see its end) up to READ_BLOCK + maxSize. */
  private bufferFor(size: number): Buffer {
    const cap = READ_BLOCK + this.chunker.params.maxSize;
    const want = Math.min(cap, Math.max(64 * 1024, 2 ** Math.ceil(Math.log2(size + 1))));
    if (this.buf.length < want) this.buf = Buffer.allocUnsafeSlow(want);
    return this.buf;
  }

  /**
   * Reads and stores one file. A file that cannot be read gives a failed result (the backup goes
   * on without it); a failure to store (disk full, compression) is thrown.
   */
  async process(job: FileJob): Promise<FileResult> {
    const acc: ChunkAcc = { content: [], size: 0, newBlobs: 0, newBytes: 0 };
    let fd: number;
    try {
      fd = openSync(fsPath(job.path), 'r');
    } catch (e) {
      return failure(e);
    }
    try {
      let buf = this.bufferFor(job.size);
      let filled = 0;
      for (;;) {
        if (filled === buf.length) {
          // the file grew past what the walk saw: continue with the full-size buffer
          const bigger = Buffer.allocUnsafeSlow(READ_BLOCK + this.chunker.params.maxSize);
          buf.copy(bigger, 0, 0, filled);
          this.buf = buf = bigger;
        }
        let read: { n: number; eof: boolean };
        try {
          read = fill(fd, buf, filled);
        } catch (e) {
          return failure(e);
        }
        filled += read.n;
        const used = this.chunkAll(filled, read.eof, acc);
        buf.copyWithin(0, used, filled);
        filled -= used;
        if (read.eof) break;
        await this.writer.maybeFlush();
      }
    } finally {
      closeSync(fd);
    }
    await this.writer.maybeFlush();
    return { ok: true, ...acc };
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
    const id = sha256(chunk);
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

function failure(e: unknown): FileResult {
  const err = e as NodeJS.ErrnoException;
  return { ok: false, errno: err.code ?? 'EIO', message: err.message };
}
