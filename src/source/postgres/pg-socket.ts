import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';

/** Bytes one socket read may bring (the kernel hands what it has, up to this). */
const READ_BYTES = 256 * 1024;
/** Read buffers kept for reuse. */
const MAX_SPARE = 8;

/** Takes the socket's reads: `release` hands the chunk's memory back once it is no longer used. */
export type ChunkReader = (chunk: Buffer, release: () => void) => void;

/**
 * A TCP (or Unix) socket for the pg driver that reads into buffers of its own, used again and
 * again, instead of a new 64 KiB buffer per read (fresh memory to fault in, then garbage): a
 * large COPY reads ~100 MB per million rows. While a reader is set (`takeReads`), every read
 * goes to it, zero-copy; otherwise what is read is copied and emitted as `'data'`, as a plain
 * socket does, for pg's protocol parser (which may keep what it is given).
 */
export class ReadPoolSocket extends Socket {
  private chunkReader: ChunkReader | undefined;
  private readonly spareBuffers: Buffer[] = [];

  constructor() {
    // (the buffer function is first called at connect time, once the fields are set; the
    // callback returns true: pausing is the reader's, with pause() and resume())
    const onread: OnReadOpts = { buffer: () => this.readBuffer(), callback: (n, buf) => this.onRead(n, buf as Buffer) };
    super({ onread } as SocketConstructorOpts);
  }

  /** From now on every read goes to `reader`, until `giveBack`. */
  takeReads(reader: ChunkReader): void {
    this.chunkReader = reader;
  }

  /** Reads go to `'data'` listeners again; `rest` (the read's part after the COPY) first. */
  giveBack(rest: Buffer): void {
    this.chunkReader = undefined;
    if (rest.length > 0) this.emit('data', Buffer.from(rest));
  }

  private readBuffer(): Buffer {
    return this.spareBuffers.pop() ?? Buffer.allocUnsafeSlow(READ_BYTES);
  }

  private onRead(n: number, buf: Buffer): true {
    const reader = this.chunkReader;
    if (reader === undefined) {
      this.emit('data', Buffer.from(buf.subarray(0, n)));
      this.recycle(buf);
      return true;
    }
    let released = false;
    reader(buf.subarray(0, n), () => {
      if (released) return;
      released = true;
      this.recycle(buf);
    });
    return true;
  }

  private recycle(buf: Buffer): void {
    if (this.spareBuffers.length < MAX_SPARE) this.spareBuffers.push(buf);
  }
}
