import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import type { Chunker } from '../codec/chunker.js';
import { sha256 } from '../codec/hash.js';
import { BLOB_TYPE, type IndexedBlob } from '../repo/blob-entry.js';
import type { PackWriter } from '../repo/pack-writer.js';

/** Files up to this size are read in one call; larger ones stream through fresh buffers. */
const WHOLE_FILE_BYTES = 32 * 1024 * 1024;
const READ_BLOCK = 8 * 1024 * 1024;

export interface FileJob {
  path: string;
  /** Size seen by the walk; decides between one read and streaming. */
  size: number;
}

export type FileResult =
  | { ok: true; content: string[]; size: number; newBlobs: number; newBytes: number }
  | { ok: false; errno: string; message: string };

export interface KnownIds {
  has(id: Uint8Array): boolean;
}

/** read → chunk → hash → (if new) hand to the pack writer. One per thread. */
export class FileProcessor {
  constructor(
    private readonly chunker: Chunker,
    private readonly writer: PackWriter,
    private readonly known: KnownIds,
  ) {}

  async process(job: FileJob): Promise<FileResult> {
    const acc = { content: [] as string[], size: 0, newBlobs: 0, newBytes: 0 };
    let fd: number;
    try {
      fd = openSync(job.path, 'r');
    } catch (e) {
      return failure(e);
    }
    try {
      if (job.size <= WHOLE_FILE_BYTES) {
        this.chunkAll(readFileSync(fd), true, acc);
      } else {
        let pending = readBlock(fd, READ_BLOCK);
        for (;;) {
          const next = readBlock(fd, READ_BLOCK);
          const eof = next.length === 0;
          if (!eof) pending = Buffer.concat([pending, next]);
          const consumed = this.chunkAll(pending, eof, acc);
          pending = pending.subarray(consumed);
          await this.writer.maybeFlush();
          if (eof) break;
          // fresh buffer for the rest: blobs still pending in the writer keep views of the old one
          pending = Buffer.from(pending);
        }
      }
    } catch (e) {
      return failure(e);
    } finally {
      closeSync(fd);
    }
    await this.writer.maybeFlush();
    return { ok: true, ...acc };
  }

  /** Cuts chunks from `data`; unless `final`, stops while fewer than maxSize bytes remain. Returns bytes consumed. */
  private chunkAll(data: Buffer, final: boolean, acc: { content: string[]; size: number; newBlobs: number; newBytes: number }): number {
    const max = this.chunker.params.maxSize;
    let pos = 0;
    while (pos < data.length && (final || data.length - pos >= max)) {
      const len = this.chunker.cut(data, pos, data.length);
      const chunk = data.subarray(pos, pos + len);
      const id = sha256(chunk);
      const hex = id.toString('hex');
      acc.content.push(hex);
      if (!this.known.has(id) && this.writer.add(BLOB_TYPE.data, hex, chunk)) {
        acc.newBlobs++;
        acc.newBytes += len;
      }
      pos += len;
    }
    acc.size += pos;
    return pos;
  }

  takeWritten(): IndexedBlob[] {
    return this.writer.takeWritten();
  }

  finish(): Promise<IndexedBlob[]> {
    return this.writer.finish();
  }
}

function readBlock(fd: number, size: number): Buffer {
  const buf = Buffer.allocUnsafeSlow(size);
  let got = 0;
  while (got < size) {
    const n = readSync(fd, buf, got, size - got, null);
    if (n === 0) break;
    got += n;
  }
  return got === size ? buf : buf.subarray(0, got);
}

function failure(e: unknown): FileResult {
  const err = e as NodeJS.ErrnoException;
  return { ok: false, errno: err.code ?? 'EIO', message: err.message };
}
