import { createHmac } from 'node:crypto';
import { decompress } from '../codec/compress.js';
import { sha256 } from '../codec/hash.js';
import { SEAL_OVERHEAD, SealError, open, openInto, seal, sealParts, sealedGeneration } from '../codec/seal.js';

/**
 * The keys of an unlocked encrypted repository, as plain data: what a worker thread is handed
 * (in memory; never written anywhere) to seal and open what it reads and writes.
 */
export interface CryptSecrets {
  /** The generation new objects are sealed with. */
  generation: number;
  /** Object-sealing key (hex) of every generation this repository still holds objects of. */
  objectKeys: Record<string, string>;
  /** HMAC-SHA256 key of blob ids (hex). */
  idKey: string;
}

/** Context of the sealed parts of a pack. */
const FRAME = 'frame';
const TRAILER = 'trailer';

/**
 * How a repository turns plaintext into stored bytes and back: blob ids, and sealing of frames,
 * pack trailers and whole objects. An unencrypted repository's is `Crypt.NONE`: ids are the
 * SHA-256 of the plaintext and nothing is sealed. An encrypted one's ids are HMAC-SHA256 under a
 * secret key (the repository does not reveal the hash of any content) and everything is sealed
 * with AES-256-GCM (codec/seal.ts).
 */
export class Crypt {
  static readonly NONE = new Crypt(undefined);

  private readonly keys: Map<number, Buffer> | undefined;
  private readonly idKey: Buffer | undefined;

  private constructor(private readonly s: CryptSecrets | undefined) {
    if (!s) return;
    this.keys = new Map(Object.entries(s.objectKeys).map(([g, k]) => [Number(g), Buffer.from(k, 'hex')]));
    this.idKey = Buffer.from(s.idKey, 'hex');
  }

  static from(secrets: CryptSecrets | undefined): Crypt {
    return secrets ? new Crypt(secrets) : Crypt.NONE;
  }

  get encrypted(): boolean {
    return this.s !== undefined;
  }

  /** The generation new objects are sealed with (0 when nothing is sealed). */
  get generation(): number {
    return this.s?.generation ?? 0;
  }

  /** The generations this repository holds keys of. */
  get generations(): number[] {
    return [...(this.keys?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** The secrets, for a worker thread (undefined when nothing is sealed). */
  get secrets(): CryptSecrets | undefined {
    return this.s;
  }

  /** The id of a blob's plaintext. */
  blobId(data: Uint8Array): Buffer {
    return this.idKey ? createHmac('sha256', this.idKey).update(data).digest() : sha256(data);
  }

  blobIdHex(data: Uint8Array): string {
    return this.blobId(data).toString('hex');
  }

  /** True if `data` is the plaintext of blob `idHex`. */
  isBlob(data: Uint8Array, idHex: string): boolean {
    return this.blobId(data).equals(Buffer.from(idHex, 'hex'));
  }

  /** Seals `data` under the current key, `context` (the object's name or kind) authenticated with it. */
  seal(data: Uint8Array, context: string): Uint8Array {
    if (!this.s) return data;
    return seal(this.keys!.get(this.s.generation)!, data, context, this.s.generation);
  }

  /** Opens what `seal` made; SealError when it is damaged, moved or of a generation this repository no longer holds. */
  open(data: Buffer, context: string): Buffer {
    if (!this.s) return data;
    const generation = sealedGeneration(data);
    const key = this.keys!.get(generation);
    if (!key) throw new SealError(`it is sealed with master key generation ${generation}, which this repository's keyring does not hold`, 'generation');
    return open(key, data, context);
  }

  /** The generation a stored object was sealed with (undefined when nothing is sealed). */
  generationOf(data: Uint8Array): number | undefined {
    return this.s ? sealedGeneration(data) : undefined;
  }

  /** A frame as stored, from its compressed bytes: the pieces to write one after another. */
  sealFrame(compressed: Uint8Array): Uint8Array[] {
    if (!this.s) return [compressed];
    return sealParts(this.keys!.get(this.s.generation)!, compressed, FRAME, this.s.generation);
  }

  /** A stored frame's compressed bytes. */
  openFrame(stored: Buffer): Buffer {
    return this.open(stored, FRAME);
  }

  /**
   * openFrame into `out` (reused by the caller; grown when too small, so use the buffer returned):
   * a view of the compressed bytes, `stored` itself when nothing is sealed.
   */
  openFrameInto(stored: Buffer, out: { buffer: Buffer }): Buffer {
    if (!this.s) return stored;
    const generation = sealedGeneration(stored);
    const key = this.keys!.get(generation);
    if (!key) throw new SealError(`it is sealed with master key generation ${generation}, which this repository's keyring does not hold`, 'generation');
    const need = stored.length - SEAL_OVERHEAD;
    if (out.buffer.length < need) out.buffer = Buffer.allocUnsafeSlow(Math.max(need, 2 * out.buffer.length));
    return out.buffer.subarray(0, openInto(key, stored, FRAME, out.buffer));
  }

  /** A stored frame's plaintext: opened, then decompressed. */
  decodeFrame(codec: number, stored: Buffer, rawLength: number): Buffer {
    return decompress(codec, this.openFrame(stored), rawLength);
  }

  sealTrailer(json: Uint8Array): Uint8Array {
    return this.seal(json, TRAILER);
  }

  openTrailer(stored: Buffer): Buffer {
    return this.open(stored, TRAILER);
  }
}
