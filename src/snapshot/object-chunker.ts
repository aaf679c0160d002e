import type { Chunker } from '../codec/chunker.js';
import type { PackWriter } from '../repo/index.js';
import { storeChunks, type ChunkAcc, type KnownIds } from './file-processor.js';

/** Most bytes buffered ahead of the cut point (plus the chunker's maxSize). */
const BUFFER_BYTES = 8 * 1024 * 1024;
const FIRST_BUFFER_BYTES = 64 * 1024;

/**
 * Chunks one object that arrives as a stream (a table's dump): buffers just enough to cut FastCDC
 * chunks (maxSize ahead) and hands the new ones to the pack writer. It cuts as soon as a chunk
 * has its maxSize of lookahead, one chunk at a time, so no single write holds the stream up for
 * long (the bytes in flight drain steadily instead of 8 MiB at a time). The buffer grows with the object up to
 * BUFFER_BYTES + maxSize, so a small object (a schema) stays small.
 */
export class ObjectChunker {
  private buf: Buffer;
  /** buf[0, start) is stored already; buf[start, filled) is waiting to be cut. */
  private start = 0;
  private filled = 0;
  readonly acc: ChunkAcc = { content: [], size: 0, newBlobs: 0, newBytes: 0 };

  constructor(
    private readonly chunker: Chunker,
    private readonly writer: PackWriter,
    private readonly known: KnownIds,
  ) {
    this.buf = Buffer.allocUnsafeSlow(FIRST_BUFFER_BYTES);
  }

  async write(data: Uint8Array): Promise<void> {
    const { minSize, maxSize } = this.chunker.params;
    let off = 0;
    while (off < data.length) {
      if (this.filled === this.buf.length) this.makeRoom();
      const n = Math.min(data.length - off, this.buf.length - this.filled);
      this.buf.set(data.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
      if (this.filled - this.start >= maxSize + minSize) {
        this.cut(false);
        await this.writer.maybeFlush();
      }
    }
  }

  /** Cuts the rest; the accumulated content list, size and new-blob counts are in `acc`. */
  async close(): Promise<ChunkAcc> {
    this.cut(true);
    await this.writer.maybeFlush();
    return this.acc;
  }

  /** The buffer is full: drop what is stored, else grow it (it never fills past maxSize + minSize of uncut bytes). */
  private makeRoom(): void {
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.filled);
      this.filled -= this.start;
      this.start = 0;
      return;
    }
    const bigger = Buffer.allocUnsafeSlow(Math.min(BUFFER_BYTES + this.chunker.params.maxSize, this.buf.length * 4));
    this.buf.copy(bigger, 0, 0, this.filled);
    this.buf = bigger;
  }

  private cut(final: boolean): void {
    this.start += storeChunks(this.chunker, this.writer, this.known, this.buf.subarray(this.start), this.filled - this.start, final, this.acc);
  }
}
