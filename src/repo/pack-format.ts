import type { BlobType } from './blob-entry.js';
import { PACK_END_MAGIC, PACK_MAGIC } from './layout.js';

/*
 * Pack file (data/<xx>/<sha256 of the file>):
 *   "PRISMPK1" | frame … frame | trailer (JSON, UTF-8) | u32 trailer length | "PRISMEND"
 * A frame is one compressed (or stored) run of concatenated blob plaintexts.
 * The trailer repeats what the index says about this pack, so a lost index can be rebuilt.
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

export function encodeTrailer(trailer: PackTrailer): Buffer[] {
  const json = Buffer.from(JSON.stringify(trailer), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  return [json, len, PACK_END_MAGIC];
}

export function decodeTrailer(pack: Buffer): PackTrailer {
  if (pack.length < 20 || !pack.subarray(0, 8).equals(PACK_MAGIC) || !pack.subarray(pack.length - 8).equals(PACK_END_MAGIC)) {
    throw new Error('not a complete pack file');
  }
  const len = pack.readUInt32LE(pack.length - 12);
  const start = pack.length - 12 - len;
  if (start < 8) throw new Error('pack trailer length out of range');
  return JSON.parse(pack.toString('utf8', start, pack.length - 12)) as PackTrailer;
}
