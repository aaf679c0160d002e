import type { BlobType, IndexedBlob } from './blob-entry.js';
import type { Crypt } from './crypt.js';
import { PACK_END_MAGIC, PACK_MAGIC } from './layout.js';

/*
 * Pack file (data/<xx>/<sha256 of the file>):
 *   "PRISMPK1" | frame … frame | trailer (JSON, UTF-8) | u32 trailer length | "PRISMEND"
 * A frame is one compressed (or stored) run of concatenated blob plaintexts.
 * The trailer repeats what the index says about this pack, so a lost index can be rebuilt.
 * In an encrypted repository every frame and the trailer are sealed (crypt.ts); the magics and
 * the trailer length are not.
 */
export interface PackTrailerFrame {
  /** offset, length, raw (plaintext) length, codec */
  o: number;
  l: number;
  r: number;
  c: number;
  /** blobs: [type, id hex, offset in the plaintext, length] */
  b: Array<[BlobType, string, number, number]>;
}

export interface PackTrailer {
  v: 1;
  frames: PackTrailerFrame[];
}

/** The index entries of the blobs the trailer's `frames` list, in pack `pack`. */
export function trailerEntries(pack: string, frames: readonly PackTrailerFrame[]): IndexedBlob[] {
  const out: IndexedBlob[] = [];
  for (const f of frames)
    for (const [type, id, blobOffset, blobLength] of f.b)
      out.push({ id, type, pack, codec: f.c, frameOffset: f.o, frameLength: f.l, frameRawLength: f.r, blobOffset, blobLength });
  return out;
}

export function encodeTrailer(trailer: PackTrailer, crypt: Crypt): Uint8Array[] {
  const json = crypt.sealTrailer(Buffer.from(JSON.stringify(trailer), 'utf8'));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  return [json, len, PACK_END_MAGIC];
}

/** What is wrong with a pack's framing: the part (header, trailer, end) and why. */
export class PackFormatError extends Error {
  constructor(
    readonly part: 'size' | 'header' | 'end' | 'trailer',
    message: string,
  ) {
    super(message);
  }
}

const ID = /^[0-9a-f]{64}$/;
const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

/** The trailer's byte range in a pack whose magics are intact. */
export function trailerRange(pack: Buffer): { start: number; end: number } {
  if (pack.length < 20) throw new PackFormatError('size', `${pack.length} bytes: too short to be a pack (not a complete pack file)`);
  if (!pack.subarray(0, 8).equals(PACK_MAGIC)) throw new PackFormatError('header', 'the header magic (bytes 0-7) is not "PRISMPK1" (not a complete pack file)');
  if (!pack.subarray(pack.length - 8).equals(PACK_END_MAGIC))
    throw new PackFormatError('end', `the end magic (bytes ${pack.length - 8}-${pack.length - 1}) is not "PRISMEND" (not a complete pack file)`);
  const len = pack.readUInt32LE(pack.length - 12);
  const start = pack.length - 12 - len;
  if (start < 8) throw new PackFormatError('trailer', `the trailer length (${len}, bytes ${pack.length - 12}-${pack.length - 9}) is out of range`);
  return { start, end: pack.length - 12 };
}

/**
 * Decodes and checks a pack's trailer: magics intact, valid JSON of the documented shape, frames
 * laid end to end from byte 8 to the trailer, every blob inside its frame's plaintext.
 */
export function decodeTrailer(pack: Buffer, crypt: Crypt): PackTrailer {
  const { start, end } = trailerRange(pack);
  const where = `the trailer (bytes ${start}-${end - 1})`;
  let t: unknown;
  try {
    t = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(crypt.openTrailer(pack.subarray(start, end))));
  } catch (e) {
    throw new PackFormatError('trailer', `${where} is not valid UTF-8 JSON${crypt.encrypted ? ' or does not authenticate' : ''}: ${(e as Error).message}`);
  }
  const bad = (why: string): PackFormatError => new PackFormatError('trailer', `${where} is damaged: ${why}`);
  const trailer = t as PackTrailer;
  if (typeof t !== 'object' || t === null || trailer.v !== 1 || !Array.isArray(trailer.frames)) throw bad('not a version 1 trailer');
  let next = 8;
  for (const [i, f] of trailer.frames.entries()) {
    if (typeof f !== 'object' || f === null || !isCount(f.o) || !isCount(f.l) || !isCount(f.r) || ![0, 1, 2].includes(f.c) || !Array.isArray(f.b))
      throw bad(`frame ${i} is malformed`);
    if (f.o !== next) throw bad(`frame ${i} starts at ${f.o}, expected ${next}`);
    next = f.o + f.l;
    for (const b of f.b) {
      if (
        !Array.isArray(b) ||
        b.length !== 4 ||
        (b[0] !== 0 && b[0] !== 1) ||
        typeof b[1] !== 'string' ||
        !ID.test(b[1]) ||
        !isCount(b[2]) ||
        !isCount(b[3]) ||
        b[2] + b[3] > f.r
      ) {
        throw bad(`frame ${i} lists a malformed blob`);
      }
    }
  }
  if (next !== start) throw bad(`its frames end at ${next}, the trailer starts at ${start}`);
  return trailer;
}
