import { createHash, type Hash } from 'node:crypto';
import { rangeKeeper, type AtomicWrite, type Backend } from '../backend/backend.js';
import type { FrameCompressor } from '../codec/compress.js';
import { BLOB_TYPE, type BlobType, type IndexedBlob } from './blob-entry.js';
import { Crypt } from './crypt.js';
import { FRAME_SOLO_BYTES, FRAME_TARGET_BYTES, PACK_MAGIC, PACK_TARGET_BYTES, packName } from './layout.js';
import { encodeTrailer, trailerEntries, type PackTrailerFrame } from './pack-format.js';

interface OpenPack {
  out: AtomicWrite;
  hash: Hash;
  frames: PackTrailerFrame[];
  /** Frames holding trees, as stored (offset, bytes), for the backend's local cache once the pack is committed. */
  treeFrames: Array<[number, Buffer]>;
}

/**
 * Gathers blobs into compression frames and streams frames into a pack file; a pack that reaches
 * its target size is committed under its SHA-256 and its index entries handed back. Blob bytes
 * are copied or written before `add` returns, so callers may reuse their buffers. Memory use is
 * one frame buffer, whatever the pack size (plus, on a remote store, the packs being uploaded).
 * Not thread-safe: one per thread.
 *
 * A full pack is committed while the next one fills: up to `uploadsInFlight` commits run in the
 * background (an upload to an object store takes as long as chunking the next 16 MiB); a pack's
 * index entries are handed back only once its commit has succeeded, and a failed commit is thrown
 * by the next maybeFlush or finish.
 */
export class PackWriter {
  private readonly frame = Buffer.allocUnsafeSlow(FRAME_TARGET_BYTES + FRAME_SOLO_BYTES);
  private frameBytes = 0;
  private frameBlobs: Array<[BlobType, string, number, number]> = [];
  private pack: OpenPack | undefined;
  private readonly written: IndexedBlob[] = [];
  /** Ids added to this writer, so a blob seen twice is stored once. */
  private readonly seen = new Set<string>();
  storedBytes = 0;
  packsWritten = 0;
  private readonly uploading = new Set<Promise<void>>();
  /** Where frames holding trees are kept as they are written (a remote store's local cache), if anywhere. */
  private readonly keeper: Pick<Required<Backend>, 'keepRange'> | undefined;
  private failed: { error: unknown } | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly compressor: FrameCompressor,
    private readonly packTarget = PACK_TARGET_BYTES,
    /** Ids of blobs and sealing of frames and trailers (Crypt.NONE: SHA-256, nothing sealed). */
    readonly crypt: Crypt = Crypt.NONE,
    /** Commits that may run in the background while the next pack fills. */
    private readonly uploadsInFlight = 1,
  ) {
    this.keeper = rangeKeeper(backend);
  }

  /** True if the blob was taken; false if this writer already holds it. */
  add(type: BlobType, id: string, data: Uint8Array): boolean {
    if (this.seen.has(id)) return false;
    if (data.length >= FRAME_SOLO_BYTES) {
      this.closeFrame();
      this.writeFrame(data, [[type, id, 0, data.length]]);
      this.seen.add(id);
      return true;
    }
    if (this.frameBytes + data.length > this.frame.length) this.closeFrame();
    this.frame.set(data, this.frameBytes);
    this.frameBlobs.push([type, id, this.frameBytes, data.length]);
    this.frameBytes += data.length;
    this.seen.add(id);
    if (this.frameBytes >= FRAME_TARGET_BYTES) this.closeFrame();
    return true;
  }

  /**
   * Takes a whole frame already compressed (prune copies frames whose blobs are all still used
   * without recompressing them; it is sealed afresh). `blobs` are [type, id, offset in the plaintext, length].
   */
  addFrame(compressed: Uint8Array, codec: number, rawLength: number, blobs: Array<[BlobType, string, number, number]>): void {
    this.closeFrame();
    this.writeStored(this.crypt.sealFrame(compressed), codec, rawLength, blobs);
    for (const [, id] of blobs) this.seen.add(id);
  }

  /** Commits the pack if it has reached its target size (in the background, within uploadsInFlight). */
  async maybeFlush(): Promise<void> {
    this.throwIfFailed();
    if (!this.pack || this.pack.out.bytes < this.packTarget) return;
    while (this.uploading.size >= Math.max(1, this.uploadsInFlight)) await Promise.race(this.uploading);
    this.throwIfFailed();
    const commit = this.flushPack().catch((e: unknown) => {
      this.failed ??= { error: e };
    });
    this.uploading.add(commit);
    void commit.finally(() => this.uploading.delete(commit));
    if (this.uploadsInFlight === 0) await commit;
    this.throwIfFailed();
  }

  /** Commits everything pending and returns the index entries not yet taken. */
  async finish(): Promise<IndexedBlob[]> {
    await this.settle();
    this.throwIfFailed();
    await this.flushPack();
    return this.takeWritten();
  }

  /** Waits for the commits running in the background. */
  private async settle(): Promise<void> {
    while (this.uploading.size > 0) await Promise.allSettled([...this.uploading]);
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failed.error;
  }

  /** Entries of the packs committed so far (and forgets them). */
  takeWritten(): IndexedBlob[] {
    return this.written.splice(0, this.written.length);
  }

  /** Drops an unfinished pack (after a failure); commits already running end first (their packs are then unreferenced, for prune). */
  async abort(): Promise<void> {
    await this.settle();
    const p = this.pack;
    this.pack = undefined;
    this.frameBytes = 0;
    this.frameBlobs = [];
    this.seen.clear(); // nothing of the dropped pack is stored: take those blobs again
    if (p) await p.out.abort();
  }

  private closeFrame(): void {
    if (this.frameBlobs.length === 0) return;
    this.writeFrame(this.frame.subarray(0, this.frameBytes), this.frameBlobs);
    this.frameBytes = 0;
    this.frameBlobs = [];
  }

  private writeFrame(raw: Uint8Array, blobs: Array<[BlobType, string, number, number]>): void {
    const { codec, data: compressed } = this.compressor.compress(raw);
    this.writeStored(this.crypt.sealFrame(compressed), codec, raw.length, blobs);
  }

  /** Appends a frame as stored (its pieces, one after another) and lists it for the trailer. */
  private writeStored(parts: readonly Uint8Array[], codec: number, rawLength: number, blobs: Array<[BlobType, string, number, number]>): void {
    const pack = this.openPack();
    const offset = pack.out.bytes;
    for (const part of parts) {
      pack.out.write(part);
      pack.hash.update(part);
    }
    pack.frames.push({ o: offset, l: pack.out.bytes - offset, r: rawLength, c: codec, b: blobs });
    // the next backup reads these trees with `keep`: a cache below (a remote store's) gets them now
    if (this.keeper && blobs.some(([type]) => type === BLOB_TYPE.tree)) pack.treeFrames.push([offset, Buffer.concat(parts)]);
  }

  private openPack(): OpenPack {
    if (!this.pack) {
      const out = this.backend.openAtomic('data');
      const hash = createHash('sha256');
      out.write(PACK_MAGIC);
      hash.update(PACK_MAGIC);
      this.pack = { out, hash, frames: [], treeFrames: [] };
    }
    return this.pack;
  }

  private async flushPack(): Promise<void> {
    this.closeFrame();
    const pack = this.pack;
    if (!pack) return;
    this.pack = undefined;
    for (const part of encodeTrailer({ v: 1, frames: pack.frames }, this.crypt)) {
      pack.out.write(part);
      pack.hash.update(part);
    }
    const packId = pack.hash.digest('hex');
    const size = pack.out.bytes;
    await pack.out.commit(packName(packId));
    for (const [offset, bytes] of pack.treeFrames) await this.keeper?.keepRange(packName(packId), offset, bytes);
    for (const b of trailerEntries(packId, pack.frames)) this.written.push(b);
    this.storedBytes += size;
    this.packsWritten++;
  }
}
