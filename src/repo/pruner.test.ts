import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LocalBackend } from '../backend/index.js';
import { FrameCompressor } from '../codec/compress.js';
import { sha256Hex } from '../codec/hash.js';
import { FixedClock } from '../core/clock.js';
import { sandbox, textData, type Sandbox } from '../testing/fixtures.js';
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
