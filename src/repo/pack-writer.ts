import { createHash } from 'node:crypto';
import type { Backend } from '../backend/backend.js';
import type { FrameCompressor } from '../codec/compress.js';
import type { BlobType, IndexedBlob } from './blob-entry.js';
import { FRAME_SOLO_BYTES, FRAME_TARGET_BYTES, PACK_MAGIC, PACK_TARGET_BYTES, packName } from './layout.js';
import { encodeTrailer, type PackTrailerFrame } from './pack-format.js';

interface PendingBlob {
  type: BlobType;
  id: string;
  data: Uint8Array;
}

/**
 * Gathers blobs into compression frames and frames into packs; a full pack is written
 * atomically and its index entries handed back. Not thread-safe: one per thread.
 */
export class PackWriter {
  private frameBlobs: PendingBlob[] = [];
  private frameBytes = 0;
  private parts: Uint8Array[] = [PACK_MAGIC];
  private packBytes = PACK_MAGIC.length;
  private frames: PackTrailerFrame[] = [];
  private readonly written: IndexedBlob[] = [];
  /** Ids added to this writer, so a blob seen twice is stored once. */
  private readonly seen = new Set<string>();
  storedBytes = 0;
  packsWritten = 0;

  constructor(
    private readonly backend: Backend,
    private readonly compressor: FrameCompressor,
    private readonly packTarget = PACK_TARGET_BYTES,
  ) {}

  /** True if the blob was taken; false if this writer already holds it. */
  add(type: BlobType, id: string, data: Uint8Array): boolean {
    if (this.seen.has(id)) return false;
    this.seen.add(id);
    if (data.length >= FRAME_SOLO_BYTES) {
      this.closeFrame();
      this.frameBlobs.push({ type, id, data });
      this.frameBytes = data.length;
      this.closeFrame();
      return true;
    }
    this.frameBlobs.push({ type, id, data });
    this.frameBytes += data.length;
    if (this.frameBytes >= FRAME_TARGET_BYTES) this.closeFrame();
    return true;
  }

  get pendingBytes(): number {
    return this.packBytes + this.frameBytes;
  }

  /** Writes the pack if it has reached its target size. */
  async maybeFlush(): Promise<void> {
    if (this.packBytes >= this.packTarget) await this.flushPack();
  }

  /** Writes everything pending and returns the index entries of all packs written. */
  async finish(): Promise<IndexedBlob[]> {
    this.closeFrame();
    await this.flushPack();
    return this.written;
  }

  /** Entries written so far (and forgets them). */
  takeWritten(): IndexedBlob[] {
    return this.written.splice(0, this.written.length);
  }

  private closeFrame(): void {
    if (this.frameBlobs.length === 0) return;
    const blobs = this.frameBlobs;
    const raw = blobs.length === 1 ? blobs[0]!.data : Buffer.concat(blobs.map((b) => b.data), this.frameBytes);
    const { codec, data } = this.compressor.compress(raw);
    // Blob data may be a view into a larger buffer (a file read); copy what is stored as-is.
    const stored = data === raw && blobs.length === 1 ? Buffer.from(data) : data;
    const frame: PackTrailerFrame = { o: this.packBytes, l: stored.length, r: raw.length, c: codec, b: [] };
    let off = 0;
    for (const b of blobs) {
      frame.b.push([b.type, b.id, off, b.data.length]);
      off += b.data.length;
    }
    this.frames.push(frame);
    this.parts.push(stored);
    this.packBytes += stored.length;
    this.frameBlobs = [];
    this.frameBytes = 0;
  }

  private async flushPack(): Promise<void> {
    this.closeFrame();
    if (this.frames.length === 0) return;
    const parts = [...this.parts, ...encodeTrailer({ v: 1, frames: this.frames })];
    const hash = createHash('sha256');
    for (const p of parts) hash.update(p);
    const packId = hash.digest('hex');
    await this.backend.put(packName(packId), parts);
    for (const f of this.frames) {
      for (const [type, id, blobOffset, blobLength] of f.b) {
        this.written.push({ id, type, pack: packId, codec: f.c, frameOffset: f.o, frameLength: f.l, frameRawLength: f.r, blobOffset, blobLength });
      }
    }
    this.storedBytes += parts.reduce((s, p) => s + p.length, 0);
    this.packsWritten++;
    this.parts = [PACK_MAGIC];
    this.packBytes = PACK_MAGIC.length;
    this.frames = [];
  }
}
