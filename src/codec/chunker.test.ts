import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { Chunker, DEFAULT_CHUNKER, gearTable, type ChunkerParams } from './chunker.js';
import { prngBytes } from '../testing/fixtures.js';

const SEED_A = '00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff';
const SEED_B = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';
const SMALL: ChunkerParams = { minSize: 4 * 1024, avgSize: 16 * 1024, maxSize: 64 * 1024 };

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function chunkHashes(data: Buffer, lengths: number[]): string[] {
  const out: string[] = [];
  let pos = 0;
  for (const len of lengths) {
    out.push(sha(data.subarray(pos, pos + len)));
    pos += len;
  }
  return out;
}

const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

function assertChunkInvariants(lengths: number[], total: number, p: ChunkerParams): void {
  assert.equal(sum(lengths), total, 'chunk lengths must sum to the input length');
  lengths.forEach((len, i) => {
    assert.ok(len > 0, `chunk ${i} is empty`);
    assert.ok(len <= p.maxSize, `chunk ${i} has ${len} bytes > maxSize ${p.maxSize}`);
    if (i < lengths.length - 1) assert.ok(len >= p.minSize, `chunk ${i} has ${len} bytes < minSize ${p.minSize}`);
  });
}

/** Shared fraction of the chunks of `a` that also occur in `b`. */
function sharedFraction(a: string[], b: string[]): number {
  const setB = new Set(b);
  return a.filter((h) => setB.has(h)).length / a.length;
}

// 20 MiB of reproducible data, shared by the tests that need a large input.
const BIG = prngBytes(20 * 1024 * 1024, 0x1234_5678);

describe('gearTable', () => {
  it('has 256 entries and is deterministic for a seed', () => {
    const a = gearTable(SEED_A);
    const a2 = gearTable(SEED_A);
    assert.equal(a.length, 256);
    assert.ok(a instanceof Int32Array);
    assert.deepEqual(a, a2);
  });

  it('is derived from sha256(seed || i) in 8-word blocks', () => {
    const t = gearTable(SEED_A);
    const block0 = createHash('sha256')
      .update(Buffer.from(SEED_A, 'hex'))
      .update(Buffer.from([0]))
      .digest();
    const block8 = createHash('sha256')
      .update(Buffer.from(SEED_A, 'hex'))
      .update(Buffer.from([8]))
      .digest();
    for (let j = 0; j < 8; j++) {
      assert.equal(t[j], block0.readInt32LE(j * 4));
      assert.equal(t[8 + j], block8.readInt32LE(j * 4));
    }
  });

  it('differs between seeds', () => {
    const a = gearTable(SEED_A);
    const b = gearTable(SEED_B);
    let differing = 0;
    for (let i = 0; i < 256; i++) if (a[i] !== b[i]) differing++;
    assert.ok(differing > 250, `only ${differing} of 256 entries differ`);
  });

  it('has (nearly) distinct entries', () => {
    const t = gearTable(SEED_A);
    assert.ok(new Set(t).size >= 255);
  });
});

describe('Chunker', () => {
  it('uses the documented default parameters', () => {
    assert.deepEqual(DEFAULT_CHUNKER, { minSize: 256 * 1024, avgSize: 1024 * 1024, maxSize: 4 * 1024 * 1024 });
    const c = new Chunker(gearTable(SEED_A));
    assert.deepEqual(c.params, DEFAULT_CHUNKER);
  });

  it('returns no chunk for empty input', () => {
    const c = new Chunker(gearTable(SEED_A), SMALL);
    assert.deepEqual(c.split(new Uint8Array(0)), []);
  });

  it('keeps inputs up to minSize (and minSize + 1) as one chunk', () => {
    const c = new Chunker(gearTable(SEED_A), SMALL);
    for (const n of [1, 2, 100, SMALL.minSize - 1, SMALL.minSize, SMALL.minSize + 1]) {
      const data = prngBytes(n, n + 7);
      assert.deepEqual(c.split(data), [n], `input of ${n} bytes`);
      assert.equal(c.cut(data, 0, n), n);
    }
    const d = new Chunker(gearTable(SEED_A));
    const data = prngBytes(DEFAULT_CHUNKER.minSize, 99);
    assert.deepEqual(d.split(data), [DEFAULT_CHUNKER.minSize]);
  });

  it('covers random input exactly, within min/max sizes (small params)', () => {
    const c = new Chunker(gearTable(SEED_A), SMALL);
    const data = BIG.subarray(0, 4 * 1024 * 1024);
    const lengths = c.split(data);
    assert.ok(lengths.length > 50);
    assertChunkInvariants(lengths, data.length, SMALL);
  });

  it('covers random input exactly, within min/max sizes (default params, 20 MiB)', () => {
    const c = new Chunker(gearTable(SEED_A));
    const lengths = c.split(BIG);
    assert.ok(lengths.length > 3);
    assertChunkInvariants(lengths, BIG.length, DEFAULT_CHUNKER);
  });

  it('cuts constant data at valid sizes (maxSize-bounded)', () => {
    const c = new Chunker(gearTable(SEED_A), SMALL);
    for (const fill of [0, 0xff, 0x41]) {
      const data = Buffer.alloc(SMALL.maxSize * 5 + 123, fill);
      const lengths = c.split(data);
      assertChunkInvariants(lengths, data.length, SMALL);
    }
  });

  it('respects odd sizes of input relative to maxSize', () => {
    const c = new Chunker(gearTable(SEED_B), SMALL);
    for (const n of [SMALL.maxSize - 1, SMALL.maxSize, SMALL.maxSize + 1, 3 * SMALL.maxSize + 17]) {
      const data = BIG.subarray(1000, 1000 + n);
      assertChunkInvariants(c.split(data), n, SMALL);
    }
  });

  it('is deterministic for the same seed and params', () => {
    const data = BIG.subarray(0, 2 * 1024 * 1024);
    const a = new Chunker(gearTable(SEED_A), SMALL).split(data);
    const b = new Chunker(gearTable(SEED_A), SMALL).split(Buffer.from(data));
    assert.deepEqual(a, b);
  });

  it('gives different boundaries for a different seed', () => {
    const data = BIG.subarray(0, 2 * 1024 * 1024);
    const a = chunkHashes(data, new Chunker(gearTable(SEED_A), SMALL).split(data));
    const b = chunkHashes(data, new Chunker(gearTable(SEED_B), SMALL).split(data));
    assert.notDeepEqual(a, b);
    assert.ok(sharedFraction(a, b) < 0.5, 'chunk boundaries must depend on the seed');
  });

  it('cuts exactly where the byte-at-a-time FastCDC definition does (the format: boundaries must never move)', () => {
    // the definition, one byte per step: normalized chunking with the strict mask up to avgSize, the loose one after
    const reference = (gear: Int32Array, p: ChunkerParams, data: Uint8Array): number[] => {
      const bits = Math.round(Math.log2(p.avgSize));
      const high = (b: number) => ~((1 << (32 - b)) - 1) | 0;
      const out: number[] = [];
      for (let start = 0; start < data.length;) {
        const n = Math.min(data.length - start, p.maxSize);
        let len = n;
        if (n > p.minSize) {
          let h = 0;
          for (let i = p.minSize; i < n; i++) {
            h = ((h << 1) + gear[data[start + i]!]!) | 0;
            if ((h & high(i < p.avgSize ? bits + 2 : bits - 2)) === 0) {
              len = i + 1;
              break;
            }
          }
        }
        out.push(len);
        start += len;
      }
      return out;
    };
    const gear = gearTable(SEED_A);
    const text = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `${i}\t${i % 97}\t0\t${' '.repeat(i % 40)}\n`).join(''));
    for (const [p, data] of [
      [SMALL, prngBytes(3 * 1024 * 1024 + 3, 9)],
      [SMALL, text],
      [DEFAULT_CHUNKER, BIG],
    ] as const) {
      const want = reference(gear, p, data);
      assert.deepEqual(new Chunker(gear, p).split(data), want);
      if (p === SMALL) assert.deepEqual(new Set(want.slice(0, -1).map((l) => l % 4)), new Set([0, 1, 2, 3]), 'cuts at every position of an unrolled step');
    }
  });

  it('cut() on a window of at least maxSize matches split() (streaming use)', () => {
    const c = new Chunker(gearTable(SEED_A), SMALL);
    const data = BIG.subarray(0, 3 * 1024 * 1024 + 5);
    const whole = c.split(data);
    const streamed: number[] = [];
    let pos = 0;
    while (pos < data.length) {
      const end = Math.min(data.length, pos + SMALL.maxSize);
      const len = c.cut(data, pos, end);
      streamed.push(len);
      pos += len;
    }
    assert.deepEqual(streamed, whole);
  });

  it('cut() depends only on the bytes from start (offsets and views agree)', () => {
    const c = new Chunker(gearTable(SEED_A), SMALL);
    const start = 777_777;
    const end = start + 5 * SMALL.maxSize;
    const viaOffset = c.cut(BIG, start, end);
    const viaView = c.cut(BIG.subarray(start, end), 0, end - start);
    const viaCopy = c.cut(Uint8Array.from(BIG.subarray(start, end)), 0, end - start);
    assert.equal(viaOffset, viaView);
    assert.equal(viaOffset, viaCopy);
    assert.ok(viaOffset >= SMALL.minSize && viaOffset <= SMALL.maxSize);
  });

  it('has an average chunk size near avgSize on random data (small params)', () => {
    const c = new Chunker(gearTable(SEED_A), SMALL);
    const data = BIG.subarray(0, 8 * 1024 * 1024);
    const lengths = c.split(data);
    const avg = data.length / lengths.length;
    assert.ok(avg >= 0.5 * SMALL.avgSize && avg <= 2 * SMALL.avgSize, `average ${avg} vs avgSize ${SMALL.avgSize}`);
    // content-defined: most cuts are not forced by maxSize
    const forced = lengths.slice(0, -1).filter((l) => l === SMALL.maxSize).length;
    assert.ok(forced / lengths.length < 0.1, `${forced} of ${lengths.length} chunks were cut at maxSize`);
  });

  it('has an average chunk size near avgSize on random data (default params)', () => {
    const c = new Chunker(gearTable(SEED_B));
    const lengths = c.split(BIG);
    const avg = BIG.length / lengths.length;
    assert.ok(avg >= 0.5 * DEFAULT_CHUNKER.avgSize && avg <= 2 * DEFAULT_CHUNKER.avgSize, `average ${avg} vs avgSize ${DEFAULT_CHUNKER.avgSize}`);
  });

  it('is content-defined: an insertion near the start keeps most chunks (default params, 20 MiB)', () => {
    const c = new Chunker(gearTable(SEED_A));
    const edited = Buffer.concat([BIG.subarray(0, 1000), Buffer.from('a few inserted bytes'), BIG.subarray(1000)]);
    const before = chunkHashes(BIG, c.split(BIG));
    const after = chunkHashes(edited, c.split(edited));
    const shared = sharedFraction(before, after);
    assert.ok(shared >= 0.8, `only ${(shared * 100).toFixed(1)}% of ${before.length} chunks survived the insertion`);
    assert.notEqual(before[0], after[0], 'the chunk holding the insertion must change');
  });

  it('is content-defined: insertion and deletion keep most chunks (small params)', () => {
    const c = new Chunker(gearTable(SEED_B), SMALL);
    const data = BIG.subarray(0, 4 * 1024 * 1024);
    const inserted = Buffer.concat([data.subarray(0, 50), Buffer.from([1, 2, 3]), data.subarray(50)]);
    const mid = 2 * 1024 * 1024;
    const deleted = Buffer.concat([data.subarray(0, mid), data.subarray(mid + 7)]);
    const base = chunkHashes(data, c.split(data));
    const ins = chunkHashes(inserted, c.split(inserted));
    const del = chunkHashes(deleted, c.split(deleted));
    assert.ok(sharedFraction(base, ins) >= 0.8, `insertion kept ${sharedFraction(base, ins)}`);
    assert.ok(sharedFraction(base, del) >= 0.8, `deletion kept ${sharedFraction(base, del)}`);
    // the changes are local: only a handful of chunks differ
    assert.ok(base.length - base.filter((h) => new Set(ins).has(h)).length <= 3);
    assert.ok(base.length - base.filter((h) => new Set(del).has(h)).length <= 3);
  });

  it('shifted content resynchronises: the same data after a different prefix shares chunks', () => {
    const c = new Chunker(gearTable(SEED_A), SMALL);
    const body = BIG.subarray(0, 2 * 1024 * 1024);
    const a = Buffer.concat([prngBytes(10_000, 1), body]);
    const b = Buffer.concat([prngBytes(33_333, 2), body]);
    const ha = chunkHashes(a, c.split(a));
    const hb = chunkHashes(b, c.split(b));
    assert.ok(sharedFraction(ha, hb) >= 0.8);
  });
});
