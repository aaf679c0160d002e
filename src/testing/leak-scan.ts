/** Finds what a repository file would show once decompressed: every zstd or gzip stream in it, inflated. */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { decompress } from 'zstd-napi';

const ZSTD_MAGIC = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);
const GZIP_MAGIC = Buffer.from([0x1f, 0x8b, 0x08]);

/** The decompressed content of every zstd frame and gzip member found anywhere in `bytes`. */
export function zstdDecompressMaybe(bytes: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (const [magic, inflate] of [
    [ZSTD_MAGIC, (b: Buffer) => decompress(b)],
    [GZIP_MAGIC, (b: Buffer) => gunzipSync(b)],
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
