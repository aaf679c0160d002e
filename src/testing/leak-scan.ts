/** Finds what a repository file would show once decompressed: every zstd or gzip stream in it, inflated. */
import { readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { gunzipSync, inflateRawSync } from 'node:zlib';
import type * as ZstdBinding from 'zstd-napi/binding.js';
import { decompress } from 'zstd-napi';

const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof ZstdBinding;

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b, 0x08]);

/** The decompressed content of every zstd frame and gzip member found anywhere in `bytes`. */
export function zstdDecompressMaybe(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (const [magic, inflate] of [
    // one frame: what follows it in a pack (more frames, the trailer) is not part of it
    [ZSTD_MAGIC, (b: Buffer) => decompress(b.subarray(0, zstd.findFrameCompressedSize(b)))],
    [GZIP_MAGIC, (b: Buffer) => gunzipMember(b)],
  ] as const) {
    for (let at = bytes.indexOf(magic); at >= 0; at = bytes.indexOf(magic, at + 1)) {
      try {
        out.push(inflate(bytes.subarray(at)));
      } catch {
        /* not a stream: random bytes that look like a magic */
      }
    }
  }
  return out;
}

/** Every file under `dir`, recursively (paths). */
export function filesUnder(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) filesUnder(p, out);
    else out.push(p);
  }
  return out;
}

/**
 * The first gzip member of `b`, whatever follows it (gunzipSync refuses trailing bytes that are
 * not another member): a header without optional fields (FLG 0, as zlib writes it) is 10 bytes,
 * and raw inflate stops at the end of the deflate stream.
 */
function gunzipMember(b: Buffer): Buffer {
  return b[3] === 0 ? inflateRawSync(b.subarray(10)) : gunzipSync(b);
}
