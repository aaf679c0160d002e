import { sha256Hex } from '../codec/hash.js';
import type { IndexedBlob } from './blob-entry.js';
import type { Crypt } from './crypt.js';
import { PackFormatError, decodeTrailer, trailerRange, type PackTrailer, type PackTrailerFrame } from './pack-format.js';

/** Where a pack is damaged: its framing (`header`, `trailer`, `end`, `size`) or the bytes of its frames. */
export type PackPart = 'size' | 'header' | 'end' | 'trailer' | 'frames';

export interface PackDamage {
  pack: string;
  part: PackPart;
  message: string;
}

/**
 * Checks a whole pack file against what the format promises: its SHA-256 is its id, and its
 * magics and trailer are intact and agree with `indexed` (index entries of this pack). Returns
 * undefined for a sound pack, else the first damaged part found. Damage confined to frames whose
 * blobs the index no longer names at this place (`stillIndexed` false: dropped as damaged) is
 * known already and not reported again.
 */
export function checkPack(
  pack: string,
  bytes: Buffer,
  crypt: Crypt,
  indexed: readonly IndexedBlob[] = [],
  stillIndexed: (id: string, frameOffset: number) => boolean = () => true,
): PackDamage | undefined {
  if (sha256Hex(bytes) === pack) return undefined;
  const damage = (part: PackPart, message: string): PackDamage => ({ pack, part, message: `pack ${pack.slice(0, 12)}: ${message}` });
  let trailer: PackTrailer;
  let trailerStart: number;
  try {
    trailer = decodeTrailer(bytes, crypt);
    trailerStart = trailerRange(bytes).start;
  } catch (e) {
    if (e instanceof PackFormatError) return damage(e.part, e.message);
    throw e;
  }
  const listed = new Set<string>();
  for (const f of trailer.frames) for (const [type, id, off, len] of f.b) listed.add(`${id}:${type}:${f.o}:${f.l}:${f.r}:${f.c}:${off}:${len}`);
  const stray = indexed.find(
    (b) => !listed.has(`${b.id}:${b.type}:${b.frameOffset}:${b.frameLength}:${b.frameRawLength}:${b.codec}:${b.blobOffset}:${b.blobLength}`),
  );
  if (stray)
    return damage(
      'trailer',
      `the trailer (bytes ${trailerStart}-${bytes.length - 13}) is damaged: it does not list blob ${stray.id.slice(0, 12)} where the index has it`,
    );
  let badFrames = 0;
  for (const f of trailer.frames) {
    if (frameReadsBack(bytes, f, crypt)) continue;
    badFrames++;
    if (f.b.some(([, id]) => stillIndexed(id, f.o)))
      return damage('frames', `the frame at bytes ${f.o}-${f.o + f.l - 1} is damaged (its content does not match its id)`);
  }
  if (badFrames > 0) return undefined;
  return damage(
    'trailer',
    `its content does not match its id (SHA-256) though every frame reads back: the trailer (bytes ${trailerStart}-${bytes.length - 13}) is damaged`,
  );
}

/** True if the frame `f` of the pack `bytes` opens, decompresses and every blob it lists hashes to its id. */
export function frameReadsBack(bytes: Buffer, f: PackTrailerFrame, crypt: Crypt): boolean {
  let plain: Buffer;
  try {
    plain = crypt.decodeFrame(f.c, bytes.subarray(f.o, f.o + f.l), f.r);
  } catch {
    return false;
  }
  return f.b.every(([, id, off, len]) => off + len <= plain.length && crypt.isBlob(plain.subarray(off, off + len), id));
}
