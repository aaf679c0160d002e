import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';

import path from 'node:path';
import { describe, it } from 'node:test';
import { LocalBackend } from '../backend/local-backend.js';
import { MemoryBackend } from '../backend/memory-backend.js';
import { MetadataCache } from '../backend/metadata-cache.js';
import { namesOf } from '../backend/backend.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { CODEC, FrameCompressor, decompress, type CompressionSettings } from '../codec/compress.js';
import { BLOB_TYPE, type BlobType, type IndexedBlob } from './blob-entry.js';
import { FRAME_SOLO_BYTES, FRAME_TARGET_BYTES, PACK_END_MAGIC, PACK_MAGIC, packName } from './layout.js';
import { Crypt } from './crypt.js';
import { decodeTrailer, encodeTrailer, type PackTrailer } from './pack-format.js';
import { PackWriter } from './pack-writer.js';
import { prngBytes, tempRootForFile } from '../testing/fixtures.js';

const ZSTD: CompressionSettings = { enabled: true, algorithm: 'zstd', level: 3 };
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

function textBytes(length: number, tag: string): Buffer {
  const line = `${tag}: the quick brown fox jumps over the lazy dog 0123456789\n`;
  return Buffer.from(line.repeat(Math.ceil(length / line.length)).slice(0, length));
}

interface Original {
  type: BlobType;
  data: Buffer;
}

const tempRoot = tempRootForFile();

let n = 0;
function freshBackend(): { backend: LocalBackend; dir: string } {
  const dir = path.join(tempRoot(), `repo-${n++}`);
  return { backend: new LocalBackend(dir), dir };
}

/** All files under dir/data, as relative names, including temp files. */
function filesUnder(dir: string): string[] {
  const data = path.join(dir, 'data');
  if (!fs.existsSync(data)) return [];
  return fs
    .readdirSync(data, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) =>
      path
        .relative(dir, path.join(d.parentPath ?? (d as unknown as { path: string }).path, d.name))
        .split(path.sep)
        .join('/'),
    )
    .sort();
}

/** Reads every entry back from the pack files and checks it against the originals. */
async function verifyEntries(backend: LocalBackend, entries: IndexedBlob[], originals: Map<string, Original>): Promise<void> {
  const packs = new Map<string, Buffer>();
  for (const e of entries) {
    let pack = packs.get(e.pack);
    if (!pack) {
      pack = await backend.get(packName(e.pack));
      packs.set(e.pack, pack);
    }
    const frame = pack.subarray(e.frameOffset, e.frameOffset + e.frameLength);
    assert.equal(frame.length, e.frameLength, `frame of ${e.id} lies inside its pack`);
    const raw = decompress(e.codec, frame, e.frameRawLength);
    assert.equal(raw.length, e.frameRawLength);
    const blob = raw.subarray(e.blobOffset, e.blobOffset + e.blobLength);
    const want = originals.get(e.id);
    assert.ok(want, `unexpected entry ${e.id}`);
    assert.equal(e.type, want.type);
    assert.equal(e.blobLength, want.data.length);
    assert.ok(blob.equals(want.data), `blob ${e.id} read back wrong`);
    assert.equal(sha(blob), e.id);
    // the same frame through a ranged read
    const ranged = await backend.getRange(packName(e.pack), e.frameOffset, e.frameLength);
    assert.ok(ranged.equals(frame));
  }
}

/** The pack file's trailer must list exactly the entries of that pack. */
function verifyTrailer(pack: Buffer, packId: string, entries: IndexedBlob[]): PackTrailer {
  const trailer = decodeTrailer(pack, Crypt.NONE);
  assert.equal(trailer.v, 1);
  const fromTrailer = trailer.frames.flatMap((f) =>
    f.b.map(([type, id, blobOffset, blobLength]) => ({
      id,
      type,
      pack: packId,
      codec: f.c,
      frameOffset: f.o,
      frameLength: f.l,
      frameRawLength: f.r,
      blobOffset,
      blobLength,
    })),
  );
  const mine = entries.filter((e) => e.pack === packId);
  const key = (e: IndexedBlob): string => e.id;
  assert.deepEqual(
    [...fromTrailer].sort((a, b) => key(a).localeCompare(key(b))),
    [...mine].sort((a, b) => key(a).localeCompare(key(b))),
  );
  // frames are laid out back to back after the magic, in order
  let expectOffset = PACK_MAGIC.length;
  for (const f of trailer.frames) {
    assert.equal(f.o, expectOffset);
    expectOffset += f.l;
  }
  const trailerBytes = Buffer.concat(encodeTrailer(trailer, Crypt.NONE));
  assert.equal(expectOffset + trailerBytes.length, pack.length, 'frames + trailer fill the pack exactly');
  return trailer;
}

describe('PackWriter with LocalBackend', () => {
  it('stores small blobs in shared frames, a large blob solo and a duplicate once', async () => {
    const { backend, dir } = freshBackend();
    const writer = new PackWriter(backend, new FrameCompressor(ZSTD));
    const originals = new Map<string, Original>();
    const add = (type: BlobType, data: Buffer): boolean => {
      const id = sha(data);
      originals.set(id, { type, data: Buffer.from(data) });
      return writer.add(type, id, data);
    };

    // small compressible and incompressible blobs; they share frames
    for (let i = 0; i < 40; i++) assert.equal(add(BLOB_TYPE.data, textBytes(8 * 1024 + i, `small ${i}`)), true);
    for (let i = 0; i < 5; i++) assert.equal(add(BLOB_TYPE.data, prngBytes(3000 + i, i + 1)), true);
    assert.equal(add(BLOB_TYPE.tree, Buffer.from(JSON.stringify({ tree: 'a', nodes: [1, 2, 3] }))), true);
    // one large incompressible blob, one large compressible blob: each gets a frame of its own
    const bigRandom = prngBytes(FRAME_SOLO_BYTES + 88 * 1024, 99);
    assert.equal(add(BLOB_TYPE.data, bigRandom), true);
    const bigText = textBytes(700 * 1024, 'big');
    assert.equal(add(BLOB_TYPE.data, bigText), true);
    // more small ones after the solo blobs
    for (let i = 0; i < 10; i++) assert.equal(add(BLOB_TYPE.data, textBytes(1000 + i, `tail ${i}`)), true);
    // a duplicate id is not stored again
    const dup = textBytes(8 * 1024 + 3, 'small 3');
    assert.equal(writer.add(BLOB_TYPE.data, sha(dup), dup), false);
    assert.equal(writer.add(BLOB_TYPE.data, sha(bigRandom), bigRandom), false);

    const entries = await writer.finish();
    assert.equal(entries.length, originals.size);
    assert.equal(new Set(entries.map((e) => e.id)).size, entries.length, 'each id stored once');
    await verifyEntries(backend, entries, originals);

    // small blobs share frames
    const perFrame = new Map<string, IndexedBlob[]>();
    for (const e of entries) {
      const k = `${e.pack}:${e.frameOffset}`;
      perFrame.set(k, [...(perFrame.get(k) ?? []), e]);
    }
    assert.ok(
      [...perFrame.values()].some((list) => list.length > 10),
      'small blobs must be grouped into frames',
    );
    assert.ok(perFrame.size < entries.length / 5);
    // frames never exceed the frame buffer
    for (const e of entries) assert.ok(e.frameRawLength <= FRAME_TARGET_BYTES + FRAME_SOLO_BYTES);
    // the large blobs are alone in their frames
    for (const big of [bigRandom, bigText]) {
      const e = entries.find((x) => x.id === sha(big))!;
      assert.equal(e.blobOffset, 0);
      assert.equal(e.frameRawLength, big.length);
      assert.equal(perFrame.get(`${e.pack}:${e.frameOffset}`)!.length, 1);
    }
    assert.equal(entries.find((x) => x.id === sha(bigRandom))!.codec, CODEC.none, 'random data is stored as it is');
    assert.equal(entries.find((x) => x.id === sha(bigText))!.codec, CODEC.zstd);
    assert.ok(entries.some((e) => e.codec === CODEC.zstd && e.frameLength < e.frameRawLength));

    // one pack, named by the sha256 of its content, with a trailer that agrees
    const packs = [...new Set(entries.map((e) => e.pack))];
    assert.equal(packs.length, 1);
    assert.equal(writer.packsWritten, 1);
    const packId = packs[0]!;
    const pack = await backend.get(packName(packId));
    assert.equal(sha(pack), packId);
    assert.ok(pack.subarray(0, 8).equals(PACK_MAGIC));
    assert.ok(pack.subarray(pack.length - 8).equals(PACK_END_MAGIC));
    verifyTrailer(pack, packId, entries);
    assert.equal(writer.storedBytes, pack.length);
    assert.ok(pack.length < bigRandom.length + bigText.length, 'compressible data was compressed');

    // nothing but the pack is left in data/ (no temp files)
    assert.deepEqual(filesUnder(dir), [packName(packId)]);
    assert.deepEqual(namesOf(await backend.list('data')), [packName(packId)]);
  });

  it('over a metadata cache, frames holding trees are kept as written: the next reader of a tree fetches nothing; data frames are not kept', async () => {
    const mem = new MemoryBackend();
    const cacheDir = path.join(tempRoot(), `cache-${n++}`);
    const writer = new PackWriter(new MetadataCache(mem, cacheDir), new FrameCompressor(ZSTD), undefined, Crypt.NONE);
    const tree = textBytes(3000, 'tree');
    const data = textBytes(FRAME_TARGET_BYTES + 10, 'data');
    writer.add(BLOB_TYPE.data, sha(data), data);
    await writer.maybeFlush();
    writer.add(BLOB_TYPE.tree, sha(tree), tree);
    const entries = await writer.finish();
    const treeAt = entries.find((e) => e.type === BLOB_TYPE.tree)!;
    const dataAt = entries.find((e) => e.type === BLOB_TYPE.data)!;
    const counted = new FaultyBackend(mem);
    const reader = new MetadataCache(counted, cacheDir);
    const frame = await reader.getRange(packName(treeAt.pack), treeAt.frameOffset, treeAt.frameLength, { keep: true });
    assert.deepEqual(counted.calls, [], 'the tree frame came from the copy');
    assert.deepEqual(frame, (await mem.get(packName(treeAt.pack))).subarray(treeAt.frameOffset, treeAt.frameOffset + treeAt.frameLength));
    await reader.getRange(packName(dataAt.pack), dataAt.frameOffset, dataAt.frameLength, { keep: true });
    assert.equal(counted.calls.length, 1, 'a data frame is fetched');
  });

  it('copies blob bytes at add(): callers may reuse their buffers at once', async () => {
    const { backend } = freshBackend();
    const writer = new PackWriter(backend, new FrameCompressor(ZSTD));
    const originals = new Map<string, Original>();
    const buf = Buffer.alloc(FRAME_SOLO_BYTES + 1000);
    for (let i = 0; i < 20; i++) {
      const len = i === 7 ? FRAME_SOLO_BYTES + 1000 : 5000 + i;
      const content = i % 2 ? prngBytes(len, i + 50) : textBytes(len, `reuse ${i}`);
      content.copy(buf, 0);
      const view = buf.subarray(0, len);
      const id = sha(view);
      originals.set(id, { type: BLOB_TYPE.data, data: Buffer.from(view) });
      assert.equal(writer.add(BLOB_TYPE.data, id, view), true);
      buf.fill(0xee); // the caller reuses its buffer
    }
    const entries = await writer.finish();
    assert.equal(entries.length, 20);
    await verifyEntries(backend, entries, originals);
  });

  it('commits a full pack in the background while the next fills; its entries come once it is stored; a failed commit is thrown next', async () => {
    const { backend } = freshBackend();
    const slow = new FaultyBackend(backend, [{ op: 'commit', times: Infinity, fault: { kind: 'delay', ms: 150 } }]);
    const writer = new PackWriter(slow, new FrameCompressor(ZSTD), 256 * 1024);
    const blob = (i: number): [string, Buffer] => {
      const data = prngBytes(FRAME_TARGET_BYTES, 3000 + i);
      return [sha(data), data];
    };
    const [id0, d0] = blob(0);
    writer.add(BLOB_TYPE.data, id0, d0);
    const t0 = performance.now();
    await writer.maybeFlush();
    assert.ok(performance.now() - t0 < 100, 'maybeFlush did not wait for the upload');
    assert.deepEqual(writer.takeWritten(), [], 'no entries before the pack is stored');
    const [id1, d1] = blob(1);
    writer.add(BLOB_TYPE.data, id1, d1);
    await writer.maybeFlush(); // waits for the first (one in flight), then starts the second
    assert.deepEqual(
      writer.takeWritten().map((b) => b.id),
      [id0],
    );
    const rest = await writer.finish();
    assert.deepEqual(
      rest.map((b) => b.id),
      [id1],
    );
    assert.equal(writer.packsWritten, 2);

    const failing = new FaultyBackend(backend, [{ op: 'commit', fault: { kind: 'permanent' } }]);
    const w2 = new PackWriter(failing, new FrameCompressor(ZSTD), 256 * 1024);
    const [id2, d2] = blob(2);
    w2.add(BLOB_TYPE.data, id2, d2);
    await w2.maybeFlush(); // the commit fails in the background
    await assert.rejects(w2.finish(), /injected permanent fault on commit/);
    assert.deepEqual(w2.takeWritten(), [], 'nothing of the failed pack is handed out');
  });

  it('a small packTarget makes several packs through maybeFlush', async () => {
    const { backend, dir } = freshBackend();
    const writer = new PackWriter(backend, new FrameCompressor(ZSTD), 256 * 1024, undefined, 0); // each commit awaited
    const originals = new Map<string, Original>();
    const taken: IndexedBlob[] = [];
    const blobSize = 64 * 1024;
    const count = 3 * (FRAME_TARGET_BYTES / blobSize) + 5; // three full frames and a partial one
    for (let i = 0; i < count; i++) {
      const data = prngBytes(blobSize, 1000 + i);
      const id = sha(data);
      originals.set(id, { type: BLOB_TYPE.data, data });
      assert.equal(writer.add(BLOB_TYPE.data, id, data), true);
      await writer.maybeFlush();
      if (i === FRAME_TARGET_BYTES / blobSize) taken.push(...writer.takeWritten());
    }
    assert.equal(writer.packsWritten, 3, 'each full frame pushed its pack over the target');
    assert.equal(taken.length, FRAME_TARGET_BYTES / blobSize, 'takeWritten hands out the first pack');
    assert.deepEqual(writer.takeWritten().length, 2 * (FRAME_TARGET_BYTES / blobSize));
    const rest = await writer.finish();
    assert.equal(writer.packsWritten, 4);
    assert.equal(rest.length, 5, 'finish returns only what was not taken');
    assert.deepEqual(await writer.finish(), [], 'a second finish has nothing more');
    assert.equal(writer.packsWritten, 4);

    // re-read everything from the packs (entries taken earlier are gone from the writer; rebuild from trailers)
    const packNames = namesOf(await backend.list('data'));
    assert.equal(packNames.length, 4);
    assert.deepEqual(filesUnder(dir), packNames, 'no temp files left');
    const all: IndexedBlob[] = [];
    let total = 0;
    for (const name of packNames) {
      const pack = await backend.get(name);
      total += pack.length;
      const packId = path.posix.basename(name);
      assert.equal(name, packName(packId));
      assert.equal(sha(pack), packId, 'pack name is the sha256 of its content');
      const trailer = decodeTrailer(pack, Crypt.NONE);
      for (const f of trailer.frames) {
        for (const [type, id, blobOffset, blobLength] of f.b) {
          all.push({ id, type, pack: packId, codec: f.c, frameOffset: f.o, frameLength: f.l, frameRawLength: f.r, blobOffset, blobLength });
        }
      }
    }
    assert.equal(all.length, count);
    assert.equal(writer.storedBytes, total);
    await verifyEntries(backend, all, originals);
    const byId = new Map(all.map((e) => [e.id, e]));
    for (const e of [...taken, ...rest]) assert.deepEqual(e, byId.get(e.id));
  });

  it('finish with nothing added writes no pack', async () => {
    const { backend, dir } = freshBackend();
    const writer = new PackWriter(backend, new FrameCompressor(ZSTD));
    assert.deepEqual(await writer.finish(), []);
    assert.equal(writer.packsWritten, 0);
    assert.equal(writer.storedBytes, 0);
    assert.deepEqual(filesUnder(dir), []);
  });

  it('stores frames uncompressed when compression is disabled', async () => {
    const { backend } = freshBackend();
    const writer = new PackWriter(backend, new FrameCompressor({ enabled: false, algorithm: 'zstd', level: 3 }));
    const originals = new Map<string, Original>();
    for (let i = 0; i < 5; i++) {
      const data = textBytes(10_000, `plain ${i}`);
      originals.set(sha(data), { type: BLOB_TYPE.data, data });
      writer.add(BLOB_TYPE.data, sha(data), data);
    }
    const entries = await writer.finish();
    assert.ok(entries.every((e) => e.codec === CODEC.none && e.frameLength === e.frameRawLength));
    await verifyEntries(backend, entries, originals);
  });

  it('round-trips gzip frames', async () => {
    const { backend } = freshBackend();
    const writer = new PackWriter(backend, new FrameCompressor({ enabled: true, algorithm: 'gzip', level: 6 }));
    const originals = new Map<string, Original>();
    for (let i = 0; i < 5; i++) {
      const data = textBytes(10_000, `gz ${i}`);
      originals.set(sha(data), { type: BLOB_TYPE.data, data });
      writer.add(BLOB_TYPE.data, sha(data), data);
    }
    const entries = await writer.finish();
    assert.ok(entries.every((e) => e.codec === CODEC.gzip));
    await verifyEntries(backend, entries, originals);
  });

  it('abort drops the unfinished pack and leaves no files', async () => {
    const { backend, dir } = freshBackend();
    const writer = new PackWriter(backend, new FrameCompressor(ZSTD));
    for (let i = 0; i < 3; i++) {
      const data = prngBytes(FRAME_SOLO_BYTES, 500 + i); // solo: written to the open pack at once
      writer.add(BLOB_TYPE.data, sha(data), data);
    }
    assert.ok(filesUnder(dir).length > 0, 'the open pack streams to a temp file');
    assert.deepEqual(namesOf(await backend.list('data')), [], 'list never shows the unfinished pack');
    await writer.abort();
    assert.deepEqual(filesUnder(dir), []);
    assert.deepEqual(await writer.finish(), []);
    assert.equal(writer.packsWritten, 0);
  });
});

describe('pack trailer', () => {
  it('encodes and decodes a trailer', () => {
    const trailer: PackTrailer = {
      v: 1,
      frames: [
        { o: 8, l: 10, r: 20, c: 1, b: [[0, 'aa'.repeat(32), 0, 20]] },
        {
          o: 18,
          l: 5,
          r: 5,
          c: 0,
          b: [
            [1, 'bb'.repeat(32), 0, 2],
            [0, 'cc'.repeat(32), 2, 3],
          ],
        },
      ],
    };
    const pack = Buffer.concat([PACK_MAGIC, Buffer.alloc(15, 7), ...encodeTrailer(trailer, Crypt.NONE)]);
    assert.deepEqual(decodeTrailer(pack, Crypt.NONE), trailer);
  });

  it('rejects incomplete packs', () => {
    const trailer = Buffer.concat(encodeTrailer({ v: 1, frames: [] }, Crypt.NONE));
    const good = Buffer.concat([PACK_MAGIC, trailer]);
    assert.deepEqual(decodeTrailer(good, Crypt.NONE), { v: 1, frames: [] });
    assert.throws(() => decodeTrailer(good.subarray(0, good.length - 1), Crypt.NONE), /not a complete pack/);
    assert.throws(() => decodeTrailer(Buffer.concat([Buffer.from('PRISMIX1'), trailer]), Crypt.NONE), /not a complete pack/);
    assert.throws(() => decodeTrailer(Buffer.alloc(10), Crypt.NONE), /not a complete pack/);
    const badLen = Buffer.from(good);
    badLen.writeUInt32LE(1_000_000, badLen.length - 12);
    assert.throws(() => decodeTrailer(badLen, Crypt.NONE), /out of range/);
  });
});
