import type { Chunker } from '../codec/chunker.js';
import type { PackWriter } from '../repo/index.js';
import { storeChunks, type ChunkAcc, type KnownIds } from './file-processor.js';

/** Most bytes buffered ahead of the cut point (plus the chunker's maxSize). */
const BUFFER_BYTES = 8 * 1024 * 1024;
const FIRST_BUFFER_BYTES = 64 * 1024;

/**
 * Chunks one object that arrives as a stream (a table's dump): buffers just enough to cut FastCDC
 * chunks (maxSize ahead) and hands the new ones to the pack writer. The buffer grows with the
 * object up to BUFFER_BYTES + maxSize, so a small object (a schema) stays small.
 */
export class ObjectChunker {
  private buf: Buffer;
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
    let off = 0;
    while (off < data.length) {
      if (this.filled === this.buf.length) await this.makeRoom();
      const n = Math.min(data.length - off, this.buf.length - this.filled);
      this.buf.set(data.subarray(off, off + n), this.filled);
      this.filled += n;
      off += n;
    }
  }

  /** Cuts the rest; the accumulated content list, size and new-blob counts are in `acc`. */
  async close(): Promise<ChunkAcc> {
    this.cut(true);
    await this.writer.maybeFlush();
    return this.acc;
  }

  /** The buffer is full: grow it while it may, else cut what can be cut. */
  private async makeRoom(): Promise<void> {
    const cap = BUFFER_BYTES + this.chunker.params.maxSize;
    if (this.buf.length < cap) {
      const bigger = Buffer.allocUnsafeSlow(Math.min(cap, this.buf.length * 4));
      this.buf.copy(bigger, 0, 0, this.filled);
      this.buf = bigger;
      return;
    }
    this.cut(false);
    await this.writer.maybeFlush();
  }

  private cut(final: boolean): void {
    const used = storeChunks(this.chunker, this.writer, this.known, this.buf, this.filled, final, this.acc);
    this.buf.copyWithin(0, used, this.filled);
    this.filled -= used;
  }
}
