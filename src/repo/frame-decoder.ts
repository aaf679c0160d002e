import { CODEC, decompress } from '../codec/compress.js';
import type { ReadBuffer } from '../backend/backend.js';
import type { Crypt } from './crypt.js';
import type { PlannedReads } from './planned-reads.js';
import { FRAME_SOLO_BYTES, FRAME_TARGET_BYTES } from './layout.js';

/** Room for a frame of the usual size (1 MiB of plaintext) from the start. */
const INITIAL_BYTES = 1024 * 1024;
/**
 * Room for any frame of gathered blobs: one closes at FRAME_TARGET_BYTES and takes no blob of
 * FRAME_SOLO_BYTES or more. Frames vary in size around 1 MiB; a buffer of exactly the size
 * needed would be replaced by the next, larger frame, the old one left to the garbage collector
 * (tens of MiB of dead buffers over a restore, and fresh pages faulted in for each new one).
 */
const GATHERED_FRAME_BYTES = FRAME_TARGET_BYTES + FRAME_SOLO_BYTES;

/**
 * Opens and decompresses frames (as Crypt.decodeFrame does) into two buffers it reuses: what
 * `decode` returns is valid only until its next call. For a thread that reads frame after frame
 * (a check, a restore): allocating a fresh megabyte for every frame costs as much as decompressing
 * it. One per thread (not shared by concurrent readers).
 */
export class FrameDecoder {
  private readonly opened = { buffer: Buffer.allocUnsafeSlow(0) };
  private plain = Buffer.allocUnsafeSlow(0);

  constructor(readonly crypt: Crypt) {}

  /** A stored frame's plaintext (see the class: valid until the next call); throws as decodeFrame does. */
  decode(codec: number, stored: Buffer, rawLength: number): Buffer {
    const compressed = this.crypt.openFrameInto(stored, this.opened);
    if (codec !== CODEC.zstd) return decompress(codec, compressed, rawLength);
    if (this.plain.length < rawLength) this.plain = Buffer.allocUnsafeSlow(Math.max(rawLength, INITIAL_BYTES, 2 * this.plain.length));
    return decompress(codec, compressed, rawLength, this.plain);
  }

  /** `decode`, with the plaintext in `slot.buffer` (grown when too small): valid as long as the caller keeps that slot. */
  decodeInto(codec: number, stored: Buffer, rawLength: number, slot: ReadBuffer): Buffer {
    if (slot.buffer.length < rawLength) slot.buffer = Buffer.allocUnsafeSlow(Math.max(rawLength, GATHERED_FRAME_BYTES, 2 * slot.buffer.length));
    const compressed = this.crypt.openFrameInto(stored, this.opened);
    if (codec === CODEC.zstd) return decompress(codec, compressed, rawLength, slot.buffer);
    const plain = decompress(codec, compressed, rawLength);
    plain.copy(slot.buffer);
    return slot.buffer.subarray(0, plain.length);
  }
}

/** Decoded frames a FrameReuse keeps: as many as the repository's shared frame cache holds (8 MiB). */
const REUSED_FRAMES = 8;

/**
 * A thread's buffers for reading blob after blob (Repository.readBlob's `reuse`, made by
 * Repository.frameReuse): the stored bytes of a frame, and the plaintext of the last frames read,
 * whose buffers are reused for the next ones. A blob read with it is valid until the next read.
 */
export class FrameReuse {
  readonly stored: ReadBuffer = { buffer: Buffer.allocUnsafeSlow(0) };
  /** The frames this thread will read, fetched ahead (a restore from a remote store: Repository.planReads). */
  plan: PlannedReads | undefined;
  /** pack:offset → plaintext, least recently used first. */
  private readonly frames = new Map<string, { slot: ReadBuffer; plain: Buffer }>();

  constructor(private readonly decoder: FrameDecoder) {}

  /** The plaintext of a frame read before, if still kept. */
  get(key: string): Buffer | undefined {
    const hit = this.frames.get(key);
    if (!hit) return undefined;
    this.frames.delete(key);
    this.frames.set(key, hit);
    return hit.plain;
  }

  /**
   * Decodes a frame (as FrameDecoder.decode) into the buffer of the least recently used one once
   * REUSED_FRAMES are kept. A frame that is one blob whole (`whole`: a large chunk, which has a frame
   * of its own) is not kept: nothing else is read from it, and keeping a few of those (up to the
   * largest chunk each) would hold several times the memory of the gathered frames.
   */
  decode(key: string, codec: number, stored: Buffer, rawLength: number, whole = false): Buffer {
    if (whole) return this.decoder.decode(codec, stored, rawLength);
    let slot: ReadBuffer = { buffer: Buffer.allocUnsafeSlow(0) };
    if (this.frames.size >= REUSED_FRAMES) {
      const [oldKey, old] = this.frames.entries().next().value as [string, { slot: ReadBuffer }];
      this.frames.delete(oldKey);
      slot = old.slot;
    }
    const plain = this.decoder.decodeInto(codec, stored, rawLength, slot);
    this.frames.set(key, { slot, plain });
    return plain;
  }
}
