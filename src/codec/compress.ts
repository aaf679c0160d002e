import { gunzipSync, gzipSync } from 'node:zlib';
import { createRequire } from 'node:module';
import type * as ZstdBinding from 'zstd-napi/binding.js';

/** The native binding itself (CommonJS): contexts that compress into caller-owned buffers. */
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding;

/** Codec ids as written into pack frames. */
export const CODEC = { none: 0, zstd: 1, gzip: 2 } as const;
export type CodecId = (typeof CODEC)[keyof typeof CODEC];
export type CompressionAlgorithm = 'zstd' | 'gzip';

export interface CompressionSettings {
  readonly enabled: boolean;
  readonly algorithm: CompressionAlgorithm;
  readonly level: number;
}

export class CompressionError extends Error {
  override readonly name = 'CompressionError';
}

/**
 * A reusable compressor (one per thread: zstd contexts are not shared). It compresses into one
 * output buffer that it reuses: the data returned is valid until the next call.
 */
export class FrameCompressor {
  private cctx: ZstdBinding.CCtx | undefined;
  private out = Buffer.alloc(0);

  constructor(private readonly settings: CompressionSettings) {}

  /** Returns the codec actually used: data that does not shrink is stored as it is. */
  compress(data: Uint8Array): { codec: CodecId; data: Uint8Array } {
    try {
      return this.run(data);
    } catch (e) {
      throw new CompressionError(`${this.settings.algorithm} level ${this.settings.level}: ${(e as Error).message}`);
    }
  }

  private run(data: Uint8Array): { codec: CodecId; data: Uint8Array } {
    if (!this.settings.enabled || data.length < 64) return { codec: CODEC.none, data };
    let out: Uint8Array;
    let codec: CodecId;
    if (this.settings.algorithm === 'zstd') {
      this.cctx ??= new zstd.CCtx();
      const bound = zstd.compressBound(data.length);
      if (this.out.length < bound) this.out = Buffer.allocUnsafeSlow(Math.max(bound, zstd.compressBound(1024 * 1024)));
      out = this.out.subarray(0, this.cctx.compress(this.out, data, this.settings.level));
      codec = CODEC.zstd;
    } else {
      out = gzipSync(data, { level: this.settings.level });
      codec = CODEC.gzip;
    }
    if (out.length >= data.length) return { codec: CODEC.none, data };
    return { codec, data: out };
  }
}

let dctx: ZstdBinding.DCtx | undefined;

/**
 * A frame's plaintext. With `out` (at least `rawLength` bytes, reused by the caller), a zstd frame
 * is decompressed into it and a view of it is returned: allocating a megabyte for every frame
 * costs about as much as decompressing it.
 */
export function decompress(codec: number, data: Uint8Array, rawLength: number, out?: Buffer): Buffer {
  switch (codec) {
    case CODEC.none:
      if (data.byteLength !== rawLength) throw new Error(`stored frame has ${data.byteLength} bytes, expected ${rawLength}`);
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    case CODEC.zstd: {
      dctx ??= new zstd.DCtx();
      const into = out && out.length >= rawLength ? out.subarray(0, rawLength) : Buffer.allocUnsafe(rawLength);
      let n: number;
      try {
        n = dctx.decompress(into, data);
      } catch (e) {
        throw new Error(`zstd frame does not decode: ${(e as Error).message} (expected ${rawLength} bytes)`);
      }
      if (n !== rawLength) throw new Error(`zstd frame decoded to ${n} bytes, expected ${rawLength}`);
      return into;
    }
    case CODEC.gzip: {
      const plain = gunzipSync(data);
      if (plain.length !== rawLength) throw new Error(`gzip frame decoded to ${plain.length} bytes, expected ${rawLength}`);
      return plain;
    }
    default:
      throw new Error(`unknown codec ${codec}`);
  }
}
