import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { BLOB_TYPE, type IndexedBlob } from './blob-entry.js';
import { IndexDecodeError, decodeIndex, encodeIndex } from './index-file.js';
import { INDEX_MAGIC } from './layout.js';

const h = (s: string): string => createHash('sha256').update(s).digest('hex');
const ENTRY = 58;

function blobs(count: number, packs: number): IndexedBlob[] {
  return Array.from({ length: count }, (_, i) => ({
    id: h(`blob ${i}`),
    type: i % 2 === 0 ? BLOB_TYPE.data : BLOB_TYPE.tree,
    pack: h(`pack ${i % packs}`),
    codec: i % 3,
    frameOffset: 8 + i * 1000,
    frameLength: 900 + i,
    frameRawLength: 2000 + i,
    blobOffset: i * 3,
    blobLength: 0xffff_ff00 + (i % 200),
  }));
}

function decodeAll(buf: Buffer): IndexedBlob[] {
  const out: IndexedBlob[] = [];
  decodeIndex(buf, (b) => out.push(b));
  return out;
}

/** Recomputes the trailing checksum after a deliberate edit, to reach the structural checks. */
function reseal(buf: Buffer): Buffer {
  const out = Buffer.from(buf);
  createHash('sha256')
    .update(out.subarray(0, out.length - 32))
    .digest()
    .copy(out, out.length - 32);
  return out;
}

describe('index file', () => {
  it('round-trips blobs across several packs, in order', () => {
    const input = blobs(200, 5);
    const buf = encodeIndex(input);
    assert.ok(buf.subarray(0, 8).equals(INDEX_MAGIC));
    assert.equal(buf.length, 8 + 4 + 5 * 32 + 4 + 200 * ENTRY + 32);
    assert.deepEqual(decodeAll(buf), input);
  });

  it('ends with the sha256 of everything before it', () => {
    const buf = encodeIndex(blobs(10, 2));
    const expect = createHash('sha256')
      .update(buf.subarray(0, buf.length - 32))
      .digest();
    assert.ok(buf.subarray(buf.length - 32).equals(expect));
  });

  it('is deterministic', () => {
    assert.ok(encodeIndex(blobs(30, 3)).equals(encodeIndex(blobs(30, 3))));
  });

  it('round-trips an empty list', () => {
    const buf = encodeIndex([]);
    assert.equal(buf.length, 8 + 4 + 4 + 32);
    assert.deepEqual(decodeAll(buf), []);
  });

  it('round-trips a single blob', () => {
    const one = blobs(1, 1);
    assert.deepEqual(decodeAll(encodeIndex(one)), one);
  });

  it('rejects a flipped byte anywhere in the file', () => {
    const buf = encodeIndex(blobs(4, 2));
    for (let i = 0; i < buf.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const bad = Buffer.from(buf);
        bad[i]! ^= mask;
        let called = 0;
        assert.throws(() => decodeIndex(bad, () => called++), IndexDecodeError, `byte ${i} flipped with ${mask} was accepted`);
        assert.equal(called, 0, 'no entry may be delivered from a damaged file');
      }
    }
  });

  it('rejects every truncation', () => {
    const buf = encodeIndex(blobs(3, 2));
    for (let len = 0; len < buf.length; len++) {
      assert.throws(() => decodeAll(buf.subarray(0, len)), IndexDecodeError, `truncated to ${len} bytes`);
    }
  });

  it('rejects trailing garbage', () => {
    const buf = encodeIndex(blobs(3, 2));
    assert.throws(() => decodeAll(Buffer.concat([buf, Buffer.from([0])])), IndexDecodeError);
    assert.throws(() => decodeAll(reseal(Buffer.concat([buf, Buffer.alloc(ENTRY)]))), IndexDecodeError);
  });

  it('rejects a wrong magic, even with a valid checksum', () => {
    const buf = encodeIndex(blobs(3, 1));
    const bad = Buffer.from(buf);
    bad.write('PRISMIX2', 0, 'latin1');
    assert.throws(() => decodeAll(reseal(bad)), IndexDecodeError);
    const pack = Buffer.from(buf);
    pack.write('PRISMPK1', 0, 'latin1');
    assert.throws(() => decodeAll(reseal(pack)), IndexDecodeError);
  });

  it('rejects a non-index buffer', () => {
    assert.throws(() => decodeAll(Buffer.alloc(0)), IndexDecodeError);
    assert.throws(() => decodeAll(Buffer.from('{"not":"an index"}')), IndexDecodeError);
    assert.throws(() => decodeAll(Buffer.alloc(200)), IndexDecodeError);
  });

  it('rejects a resealed file whose counts do not match its length', () => {
    const buf = encodeIndex(blobs(3, 2));
    const moreBlobs = Buffer.from(buf);
    const countAt = 8 + 4 + 2 * 32;
    moreBlobs.writeUInt32LE(4, countAt);
    assert.throws(() => decodeAll(reseal(moreBlobs)), IndexDecodeError);
    const hugePacks = Buffer.from(buf);
    hugePacks.writeUInt32LE(0xffff_ffff, 8);
    assert.throws(() => decodeAll(reseal(hugePacks)), IndexDecodeError);
  });

  it('rejects a resealed entry that names a pack outside the table', () => {
    const buf = encodeIndex(blobs(3, 2));
    const bad = Buffer.from(buf);
    const firstEntry = 8 + 4 + 2 * 32 + 4;
    bad.writeUInt32LE(2, firstEntry + 34); // packs are numbered 0 and 1
    assert.throws(() => decodeAll(reseal(bad)), IndexDecodeError);
  });

  it('IndexDecodeError is an Error', () => {
    const e = new IndexDecodeError('x');
    assert.ok(e instanceof Error);
  });
});
