/**
 * Request bodies as lists of buffers: a pack is uploaded from the buffers it was written into,
 * as one stream, without joining them into one 16 MiB buffer first.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

export const totalLength = (parts: readonly Uint8Array[]): number => parts.reduce((n, p) => n + p.length, 0);

/** The MD5 of the parts as one body (Azure checks it on arrival: a body damaged on the way is refused). */
export function md5Of(parts: readonly Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Bytes [offset, offset + length) of the parts, as views of them (no copy). */
export function sliceParts(parts: readonly Uint8Array[], offset: number, length: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let skip = offset;
  let left = length;
  for (const p of parts) {
    if (left === 0) break;
    if (skip >= p.length) {
      skip -= p.length;
      continue;
    }
    const n = Math.min(p.length - skip, left);
    out.push(p.subarray(skip, skip + n));
    left -= n;
    skip = 0;
  }
  return out;
}

/** The socket takes a body in pieces of this size, each one a sign of progress for the stall watchdog. */
const PIECE = 256 * 1024;

/**
 * A stream of the parts, handed out a piece at a time as the socket asks for more: each read is
 * progress (a stalled upload stops asking).
 */
export function partsStream(parts: readonly Uint8Array[], onProgress: () => void): Readable {
  let i = 0;
  let off = 0;
  return new Readable({
    highWaterMark: PIECE,
    read() {
      onProgress();
      while (i < parts.length && off >= parts[i]!.length) {
        i++;
        off = 0;
      }
      if (i === parts.length) {
        this.push(null);
        return;
      }
      const p = parts[i]!;
      const n = Math.min(PIECE, p.length - off);
      this.push(p.subarray(off, off + n));
      off += n;
    },
  });
}

/** Slabs the written bytes are copied into: few large buffers, whatever the sizes of the writes. */
const SLAB = 1024 * 1024;
/** The first slab: a small object does not take a whole slab (slabs then double up to SLAB). */
const FIRST_SLAB = 64 * 1024;

/** The bytes of an AtomicWrite: copied at write (the caller reuses its buffer), kept in slabs of up to 1 MiB. */
export class SlabWriter {
  private readonly slabs: Buffer[] = [];
  private used = 0; // bytes used in the last slab
  bytes = 0;

  write(data: Uint8Array): void {
    let off = 0;
    while (off < data.length) {
      let slab = this.slabs[this.slabs.length - 1];
      if (!slab || this.used === slab.length) {
        slab = Buffer.allocUnsafeSlow(Math.min(SLAB, Math.max(FIRST_SLAB, this.bytes + off)));
        this.slabs.push(slab);
        this.used = 0;
      }
      const n = Math.min(slab.length - this.used, data.length - off);
      slab.set(data.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
    }
    this.bytes += data.length;
  }

  /** The written bytes as views of the slabs. */
  parts(): Uint8Array[] {
    return this.slabs.map((s, i) => (i === this.slabs.length - 1 ? s.subarray(0, this.used) : s));
  }

  /** Lets go of the slabs. */
  clear(): void {
    this.slabs.length = 0;
    this.used = 0;
  }
}
