import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LocalBackend } from '../backend/index.js';
import { FrameCompressor } from '../codec/compress.js';
import { sha256Hex } from '../codec/hash.js';
import { FixedClock } from '../core/clock.js';
import { prngBytes, sandbox, textData, type Sandbox } from '../testing/fixtures.js';
import { BLOB_TYPE } from './blob-entry.js';
import { PackWriter } from './pack-writer.js';
import { executePrune, planPrune } from './pruner.js';
import { Repository } from './repository.js';

const zstd = new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 3 });

describe('prune of frames holding bytes the index no longer lists', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox({ init: false });
  });
  afterEach(() => sb.cleanup());

  it('a frame whose listed blobs are all used is not repacked, and a pack is never deleted under a name the new index uses', async () => {
    const backend = new LocalBackend(sb.repo);
    const repo = await Repository.open(backend, new FixedClock(new Date()), { create: true });
    const a = Buffer.from(textData(3000, 1));
    const b = Buffer.from(textData(3000, 2));
    const writer = new PackWriter(backend, zstd);
    writer.add(BLOB_TYPE.data, sha256Hex(a), a);
    writer.add(BLOB_TYPE.data, sha256Hex(b), b);
    const entries = await writer.finish();
    // the index lists only A (as after an earlier prune copied the frame whole): B's bytes ride along unlisted
    await repo.writeIndex(entries.filter((e) => e.id === sha256Hex(a)));
    const referenced = new Set([sha256Hex(a)]);
    const plan = await planPrune(repo, referenced, 0);
    assert.deepEqual(plan.repackPacks, [], 'copying the frame would give the same pack');
    assert.deepEqual(plan.unusedPacks, []);
    // even when told to repack it, the copy that comes out identical is not deleted
    const forced = await executePrune(repo, referenced, { ...plan, repackPacks: [entries[0]!.pack] }, zstd);
    assert.equal(forced.repackPacks.length, 1);
    // the copy lists only A: copying it once more gives the very same bytes and name
    const once = await Repository.open(backend, new FixedClock(new Date()));
    await once.loadIndex();
    const copyPack = once.index.get(sha256Hex(a))!.pack;
    await executePrune(once, referenced, { ...(await planPrune(once, referenced, 0)), repackPacks: [copyPack] }, zstd);
    const fresh = await Repository.open(backend, new FixedClock(new Date()));
    await fresh.loadIndex();
    assert.equal(fresh.index.get(sha256Hex(a))!.pack, copyPack, 'same content, same name');
    assert.deepEqual(await fresh.readBlob(sha256Hex(a)), a, 'A still reads back');
    assert.ok(readdirSync(join(sb.repo, 'data'), { recursive: true }).some((n) => String(n).endsWith(fresh.index.get(sha256Hex(a))!.pack)));
  });
});

describe('prune: --max-unused is an allowance for the whole repository, as in restic', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox({ init: false });
  });
  afterEach(() => sb.cleanup());

  it('repacks the packs with the largest unused share first, only until the unused data left is within the allowance', async () => {
    const backend = new LocalBackend(sb.repo);
    const repo = await Repository.open(backend, new FixedClock(new Date()), { create: true });
    const KB = 1024;
    // incompressible blobs, so stored sizes are the raw sizes: pack → [used sizes], [unused sizes]
    const layout: Array<[number[], number[]]> = [
      [[100 * KB], [100 * KB]], // half unused
      [[900 * KB], [100 * KB]], // a tenth unused
      [[1000 * KB], []], // all used
    ];
    const referenced = new Set<string>();
    const packs: string[] = [];
    const all = [];
    let seed = 10;
    for (const [used, unused] of layout) {
      const writer = new PackWriter(backend, zstd);
      for (const [sizes, keep] of [
        [used, true],
        [unused, false],
      ] as const) {
        for (const size of sizes) {
          const data = prngBytes(size, seed++);
          writer.add(BLOB_TYPE.data, sha256Hex(data), data);
          if (keep) referenced.add(sha256Hex(data));
        }
      }
      const entries = await writer.finish();
      packs.push(entries[0]!.pack);
      all.push(...entries);
    }
    await repo.writeIndex(all);
    const [half, tenth] = packs;
    // 200 KB unused against 2000 KB used: 10 % is within a 20 % allowance
    assert.deepEqual((await planPrune(repo, referenced, 0.2)).repackPacks, []);
    // 6 % allows 120 KB: repacking the half-unused pack leaves 100 KB, which is within it
    const mid = await planPrune(repo, referenced, 0.06);
    assert.deepEqual(mid.repackPacks, [half]);
    assert.ok(Math.abs(mid.keptUnusedBytes - 100 * KB) < 2 * KB, `kept ${mid.keptUnusedBytes}`);
    // 0 % repacks every pack with unused data, the larger share first
    assert.deepEqual((await planPrune(repo, referenced, 0)).repackPacks, [half, tenth]);
    const done = await executePrune(repo, referenced, mid, zstd);
    assert.equal(done.repackPacks.length, 1);
    const after = await Repository.open(backend, new FixedClock(new Date()));
    await after.loadIndex();
    for (const id of referenced) assert.equal((await after.readBlob(id)).length > 0, true);
    assert.deepEqual((await planPrune(after, referenced, 0.06)).repackPacks, [], 'a second prune has nothing left to do');
  });
});
