import { sha256 } from '../codec/hash.js';
import type { BlobType, IndexedBlob } from './blob-entry.js';
import { INDEX_MAGIC } from './layout.js';

/*
 * Index file (index/<sha256 of the file>):
 *   "PRISMIX1" | u32 packCount | packCount × 32-byte pack id
 *   | u32 blobCount | blobCount × ENTRY bytes | 32-byte SHA-256 of everything before it
 * Entry: id[32] type u8 codec u8 pack u32 frameOffset u32 frameLength u32
 *        frameRawLength u32 blobOffset u32 blobLength u32   (integers little-endian)
 */
const ENTRY = 32 + 1 + 1 + 4 * 6;

export function encodeIndex(blobs: readonly IndexedBlob[]): Buffer {
  const packs = [...new Set(blobs.map((b) => b.pack))].sort();
  const packNo = new Map(packs.map((p, i) => [p, i]));
  const size = 8 + 4 + packs.length * 32 + 4 + blobs.length * ENTRY + 32;
  const buf = Buffer.alloc(size);
  let o = INDEX_MAGIC.copy(buf, 0);
  o = buf.writeUInt32LE(packs.length, o);
  for (const p of packs) o += Buffer.from(p, 'hex').copy(buf, o);
  o = buf.writeUInt32LE(blobs.length, o);
  for (const b of blobs) {
    o += Buffer.from(b.id, 'hex').copy(buf, o);
    o = buf.writeUInt8(b.type, o);
    o = buf.writeUInt8(b.codec, o);
    o = buf.writeUInt32LE(packNo.get(b.pack)!, o);
    o = buf.writeUInt32LE(b.frameOffset, o);
    o = buf.writeUInt32LE(b.frameLength, o);
    o = buf.writeUInt32LE(b.frameRawLength, o);
    o = buf.writeUInt32LE(b.blobOffset, o);
    o = buf.writeUInt32LE(b.blobLength, o);
  }
  sha256(buf.subarray(0, o)).copy(buf, o);
  return buf;
}

export class IndexDecodeError extends Error {}

/** Decodes an index file, calling `onBlob` for each entry (no array of all entries is built). */
export function decodeIndex(buf: Buffer, onBlob: (b: IndexedBlob) => void): void {
  if (buf.length < 8 + 4 + 4 + 32 || !buf.subarray(0, 8).equals(INDEX_MAGIC)) throw new IndexDecodeError('not an index file');
  const body = buf.subarray(0, buf.length - 32);
  if (!sha256(body).equals(buf.subarray(buf.length - 32))) throw new IndexDecodeError('index checksum mismatch');
  let o = 8;
  const packCount = buf.readUInt32LE(o);
  o += 4;
  if (o + packCount * 32 + 4 > body.length) throw new IndexDecodeError('truncated pack table');
  const packs: string[] = [];
  for (let i = 0; i < packCount; i++, o += 32) packs.push(buf.toString('hex', o, o + 32));
  const count = buf.readUInt32LE(o);
  o += 4;
  if (o + count * ENTRY !== body.length) throw new IndexDecodeError('index length does not match its entry count');
  for (let i = 0; i < count; i++, o += ENTRY) {
    const pack = packs[buf.readUInt32LE(o + 34)];
    if (pack === undefined) throw new IndexDecodeError('entry names a pack outside the table');
    onBlob({
      id: buf.toString('hex', o, o + 32),
      type: buf.readUInt8(o + 32) as BlobType,
      codec: buf.readUInt8(o + 33),
      pack,
      frameOffset: buf.readUInt32LE(o + 38),
      frameLength: buf.readUInt32LE(o + 42),
      frameRawLength: buf.readUInt32LE(o + 46),
      blobOffset: buf.readUInt32LE(o + 50),
      blobLength: buf.readUInt32LE(o + 54),
    });
  }
}
