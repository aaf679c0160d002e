import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { ReadBuffer } from '../backend.js';

/** A PutObject body: the parts as they are (no 16 MiB concatenation), their length and SHA-256. */
export interface UploadBody {
  /** Called per attempt: a stream is used up by one request. */
  body(): Buffer | Readable;
  length: number;
  /**
   * Hex SHA-256 of the bytes, sent as x-amz-content-sha256: the signature covers it and the store
   * refuses a body that does not hash to it (XAmzContentSHA256Mismatch), so bytes damaged on the
   * way are never stored. Content-MD5 would cost 2.5 times as much CPU for the same guarantee.
   */
  sha256: string;
}

export function uploadBody(data: Uint8Array | readonly Uint8Array[]): UploadBody {
  const parts = (data instanceof Uint8Array ? [data] : data).filter((p) => p.length > 0);
  const hash = createHash('sha256');
  let length = 0;
  for (const p of parts) {
    hash.update(p);
    length += p.length;
  }
  const asBuffer = (p: Uint8Array): Buffer => (Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  return {
    body: () => (parts.length === 1 ? asBuffer(parts[0]!) : parts.length === 0 ? Buffer.alloc(0) : Readable.from(parts.map(asBuffer), { objectMode: false })),
    length,
    sha256: hash.digest('hex'),
  };
}

const SLAB_BYTES = 1024 * 1024;

/**
 * The bytes of an atomic write, copied at write() (the caller reuses its buffer) into slabs of
 * 1 MiB: a pack made of thousands of small blobs goes out as 16 chunks, not thousands, and is
 * never concatenated into one 16 MiB buffer.
 */
export class Slabs {
  private readonly full: Buffer[] = [];
  private current: Buffer | undefined;
  private used = 0;
  bytes = 0;

  write(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) {
      if (!this.current || this.used === this.current.length) {
        if (this.current) this.full.push(this.current);
        this.current = Buffer.allocUnsafeSlow(SLAB_BYTES);
        this.used = 0;
      }
      const n = Math.min(data.length - off, this.current.length - this.used);
      this.current.set(data.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
    }
    this.bytes += data.length;
  }

  /** The bytes written so far, as views of the slabs. */
  parts(): Buffer[] {
    return this.current ? [...this.full, this.current.subarray(0, this.used)] : [...this.full];
  }

  clear(): void {
    this.full.length = 0;
    this.current = undefined;
    this.used = 0;
    this.bytes = 0;
  }
}

/** A body that ended before its Content-Length (the connection closed early): worth reading again. */
export class ShortBodyError extends Error {
  constructor(
    readonly got: number,
    readonly expected: number,
  ) {
    super(`the store sent ${got} of ${expected} bytes`);
    this.name = 'ShortBodyError';
  }
}

/**
 * Reads a response body whole, checking its length against Content-Length: into `into.buffer`
 * (grown when too small) when given, else into one buffer of the announced size.
 */
export async function readBody(
  body: AsyncIterable<Uint8Array> & { destroy?(e?: Error): void },
  contentLength: number | undefined,
  into?: ReadBuffer,
  signal?: AbortSignal,
): Promise<Buffer> {
  const onAbort = (): void => body.destroy?.(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    if (contentLength === undefined) {
      // no length announced (a chunked answer): collect, then place
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(Buffer.from(c.buffer, c.byteOffset, c.byteLength));
      const all = Buffer.concat(chunks);
      if (!into) return all;
      if (into.buffer.length < all.length) into.buffer = Buffer.allocUnsafeSlow(all.length);
      all.copy(into.buffer);
      return into.buffer.subarray(0, all.length);
    }
    let target: Buffer;
    if (into) {
      if (into.buffer.length < contentLength) into.buffer = Buffer.allocUnsafeSlow(Math.max(contentLength, Math.floor(into.buffer.length * 1.5)));
      target = into.buffer;
    } else {
      target = Buffer.allocUnsafe(contentLength);
    }
    let got = 0;
    for await (const c of body) {
      if (got + c.length > contentLength) throw new Error(`the store sent more than the ${contentLength} bytes it announced`);
      target.set(c, got);
      got += c.length;
    }
    if (got !== contentLength) throw new ShortBodyError(got, contentLength);
    return target.subarray(0, contentLength);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
