import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BLOB_TYPE, type IndexedBlob } from './blob-entry.js';
import { BlobIndex, IdSetView } from './blob-index.js';

const N = 50_000;
const PACKS = 7;
const ABSENT = 20_000;

// Ids are computed once: sha256 of a counter (reproducible, uniformly spread like real ids).
const IDS = Array.from({ length: N + ABSENT }, (_, n) => createHash('sha256').update(`blob-${n}`).digest());
const HEX = IDS.map((id) => id.toString('hex'));
const idOf = (n: number): Buffer => IDS[n]!;
const hexOf = (n: number): string => HEX[n]!;
const packOf = (n: number): string => createHash('sha256').update(`pack-${n}`).digest('hex');
const PACK_IDS = Array.from({ length: PACKS }, (_, i) => packOf(i));

function blob(n: number, pack = PACK_IDS[n % PACKS]!): IndexedBlob {
  return {
    id: hexOf(n),
    type: n % 3 === 0 ? BLOB_TYPE.tree : BLOB_TYPE.data,
    pack,
    codec: n % 3,
    frameOffset: 8 + n * 11,
    frameLength: 1000 + (n % 500),
    frameRawLength: 4000 + (n % 700),
    blobOffset: n % 4000,
    blobLength: 1 + (n % 3000),
  };
}

function buildIndex(): BlobIndex {
  const index = new BlobIndex();
  for (let n = 0; n < N; n++) index.add(blob(n));
  return index;
}

// One index for the read-only tests.
const INDEX = buildIndex();

describe('BlobIndex', () => {
  it('starts empty', () => {
    const index = new BlobIndex();
    assert.equal(index.size, 0);
    assert.equal(index.packCount, 0);
    assert.equal(index.has(idOf(1)), false);
    assert.equal(index.hasHex(hexOf(1)), false);
    assert.equal(index.get(hexOf(1)), undefined);
    assert.deepEqual([...index.entries()], []);
  });

  it('holds 50,000 blobs across several packs (grows and rehashes)', () => {
    assert.equal(INDEX.size, N);
    assert.equal(INDEX.packCount, PACKS);
  });

  it('finds every added blob with all its fields', () => {
    for (let n = 0; n < N; n++) {
      const want = blob(n);
      assert.equal(INDEX.has(idOf(n)), true);
      assert.equal(INDEX.hasHex(want.id), true);
      const got = INDEX.get(want.id);
      if (n % 997 === 0 || got === undefined) assert.deepEqual(got, want);
      else if (
        got.pack !== want.pack ||
        got.type !== want.type ||
        got.codec !== want.codec ||
        got.frameOffset !== want.frameOffset ||
        got.frameLength !== want.frameLength ||
        got.frameRawLength !== want.frameRawLength ||
        got.blobOffset !== want.blobOffset ||
        got.blobLength !== want.blobLength
      ) {
        assert.deepEqual(got, want, `blob ${n}`);
      }
    }
  });

  it('answers false for ids it does not hold', () => {
    for (let n = N; n < N + ABSENT; n++) {
      if (INDEX.has(idOf(n))) assert.fail(`blob ${n} reported present`);
      if (INDEX.hasHex(hexOf(n))) assert.fail(`blob ${n} reported present (hex)`);
      if (INDEX.get(hexOf(n)) !== undefined) assert.fail(`blob ${n} returned by get`);
    }
    // ids that share their first 4 bytes (the hash slot) with a present id
    const near = Buffer.from(idOf(5));
    near[31] ^= 0xff;
    assert.equal(INDEX.has(near), false);
    assert.equal(INDEX.has(Buffer.alloc(32)), false);
    assert.equal(INDEX.hasHex('ff'.repeat(32)), false);
  });

  it('accepts uppercase hex in lookups', () => {
    assert.equal(INDEX.hasHex(hexOf(12).toUpperCase()), true);
    assert.equal(INDEX.get(hexOf(12).toUpperCase())?.blobLength, blob(12).blobLength);
  });

  it('yields every entry exactly once from entries()', () => {
    const seen = new Set<string>();
    let count = 0;
    for (const e of INDEX.entries()) {
      count++;
      seen.add(e.id);
    }
    assert.equal(count, N);
    assert.equal(seen.size, N);
    for (let n = 0; n < N; n += 101) assert.ok(seen.has(hexOf(n)));
    // in insertion order, with the fields intact
    const first = INDEX.entries().next().value;
    assert.deepEqual(first, blob(0));
  });

  it('keeps the first location when a blob is added twice', () => {
    const index = new BlobIndex();
    const a = blob(1, packOf(100));
    const b = { ...blob(1, packOf(200)), frameOffset: 999, blobLength: 5 };
    index.add(a);
    index.add(b);
    assert.equal(index.size, 1);
    assert.deepEqual(index.get(a.id), a);
    assert.equal(index.packCount, 1, 'the duplicate must not register its pack');
    assert.equal([...index.entries()].length, 1);
  });

  it('stores the extreme values of its u32 fields and both blob types', () => {
    const index = new BlobIndex();
    const big: IndexedBlob = {
      id: hexOf(7),
      type: BLOB_TYPE.tree,
      pack: packOf(1),
      codec: 2,
      frameOffset: 0xffff_ffff,
      frameLength: 0xffff_fffe,
      frameRawLength: 0xffff_fffd,
      blobOffset: 0xffff_fffc,
      blobLength: 0xffff_fffb,
    };
    const zero: IndexedBlob = {
      ...big,
      id: hexOf(8),
      type: BLOB_TYPE.data,
      codec: 0,
      frameOffset: 0,
      frameLength: 0,
      frameRawLength: 0,
      blobOffset: 0,
      blobLength: 0,
    };
    index.add(big);
    index.add(zero);
    assert.deepEqual(index.get(big.id), big);
    assert.deepEqual(index.get(zero.id), zero);
  });

  it('rejects ids that are not 32 bytes of hex', () => {
    const index = new BlobIndex();
    assert.throws(() => index.add({ ...blob(1), id: 'abcd' }), /bad blob id/);
    assert.throws(() => index.add({ ...blob(1), id: hexOf(1) + '00' }), /bad blob id/);
    assert.equal(index.size, 0);
  });
});

describe('exportIdSet / IdSetView', () => {
  it('answers membership like the index, in the same thread', () => {
    const view = new IdSetView(INDEX.exportIdSet());
    for (let n = 0; n < N; n++) if (!view.has(idOf(n))) assert.fail(`blob ${n} missing from the view`);
    for (let n = N; n < N + ABSENT; n++) if (view.has(idOf(n))) assert.fail(`blob ${n} wrongly in the view`);
  });

  it('is a snapshot: later additions to the index are not visible', () => {
    const index = new BlobIndex();
    for (let n = 0; n < 100; n++) index.add(blob(n));
    const set = index.exportIdSet();
    assert.ok(set.ids instanceof SharedArrayBuffer);
    assert.ok(set.slots instanceof SharedArrayBuffer);
    index.add(blob(100));
    const view = new IdSetView(set);
    assert.equal(view.has(idOf(99)), true);
    assert.equal(view.has(idOf(100)), false);
    assert.equal(index.has(idOf(100)), true);
  });

  it('works for an empty index', () => {
    const view = new IdSetView(new BlobIndex().exportIdSet());
    assert.equal(view.has(idOf(0)), false);
    assert.equal(view.has(Buffer.alloc(32)), false);
  });

  it('answers membership inside a worker thread over shared memory', async () => {
    const moduleUrl = new URL('./blob-index.js', import.meta.url).href;
    assert.ok(fileURLToPath(moduleUrl).endsWith('blob-index.js'));
    const present = Array.from({ length: 2000 }, (_, i) => hexOf(i * 25));
    const absent = Array.from({ length: 2000 }, (_, i) => hexOf(N + i));
    const script = `
      const { parentPort, workerData } = require('node:worker_threads');
      import(workerData.moduleUrl).then(({ IdSetView }) => {
        const view = new IdSetView(workerData.set);
        const check = (ids) => ids.map((h) => view.has(Buffer.from(h, 'hex')));
        parentPort.postMessage({
          present: check(workerData.present),
          absent: check(workerData.absent),
          sharedIds: workerData.set.ids instanceof SharedArrayBuffer,
        });
      }, (e) => parentPort.postMessage({ error: String(e && e.stack || e) }));
    `;
    const set = INDEX.exportIdSet();
    const worker = new Worker(script, { eval: true, workerData: { moduleUrl, set, present, absent } });
    try {
      const result = await new Promise<{ present: boolean[]; absent: boolean[]; sharedIds: boolean; error?: string }>((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
        worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before answering`)));
      });
      assert.equal(result.error, undefined);
      assert.equal(result.sharedIds, true);
      assert.equal(result.present.length, present.length);
      assert.ok(
        result.present.every((x) => x === true),
        'every present id must be found in the worker',
      );
      assert.ok(
        result.absent.every((x) => x === false),
        'no absent id may be found in the worker',
      );
    } finally {
      await worker.terminate();
    }
  });
});

describe('exportShared / fromShared', () => {
  it('gives an index with every blob and all its fields, over shared memory', () => {
    const shared = INDEX.exportShared();
    assert.ok(shared.ids instanceof SharedArrayBuffer && shared.fields instanceof SharedArrayBuffer && shared.slots instanceof SharedArrayBuffer);
    const copy = BlobIndex.fromShared(shared);
    assert.equal(copy.size, N);
    assert.equal(copy.packCount, PACKS);
    for (let n = 0; n < N; n += 97) assert.deepEqual(copy.get(hexOf(n)), blob(n));
    for (let n = N; n < N + ABSENT; n += 97) assert.equal(copy.get(hexOf(n)), undefined);
  });

  it('keeps blobs added to one adopted index out of the shared memory and out of the index it came from', () => {
    const small = new BlobIndex();
    for (let n = 0; n < 1000; n++) small.add(blob(n));
    const shared = small.exportShared();
    const a = BlobIndex.fromShared(shared);
    for (let n = 1000; n < 3000; n++) a.add(blob(n, packOf(99)));
    assert.equal(a.size, 3000);
    assert.deepEqual(a.get(hexOf(2500)), blob(2500, packOf(99)));
    assert.deepEqual(a.get(hexOf(10)), blob(10));
    const b = BlobIndex.fromShared(shared);
    assert.equal(b.size, 1000);
    assert.equal(b.get(hexOf(2500)), undefined);
    assert.equal(b.packCount, PACKS);
    for (let n = 0; n < 1000; n += 7) assert.deepEqual(b.get(hexOf(n)), blob(n));
    assert.equal(small.get(hexOf(2500)), undefined);
  });
});
