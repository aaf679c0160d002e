import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../backend/memory-backend.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import type { BlobLocation } from './blob-entry.js';
import { packName } from './layout.js';
import { PlannedReads } from './planned-reads.js';

const KiB = 1024;
const A = 'aa'.repeat(32);
const B = 'bb'.repeat(32);

const frame = (pack: string, frameOffset: number, frameLength: number): BlobLocation => ({
  type: 0,
  pack,
  codec: 0,
  frameOffset,
  frameLength,
  frameRawLength: frameLength,
  blobOffset: 0,
  blobLength: frameLength,
});

/** Two packs of 1 MiB in memory, the calls to them counted. */
async function store(): Promise<{ counted: FaultyBackend; packs: Map<string, Buffer> }> {
  const mem = new MemoryBackend();
  const packs = new Map([
    [A, randomBytes(1024 * KiB)],
    [B, randomBytes(1024 * KiB)],
  ]);
  for (const [id, bytes] of packs) await mem.put(packName(id), bytes);
  return { counted: new FaultyBackend(mem), packs };
}

const ranges = (b: FaultyBackend): string[] => b.calls.filter((c) => c.startsWith('getRange'));

describe('PlannedReads', () => {
  it('coalesces the frames of two interleaved packs into one range each and serves every frame from them', async () => {
    const { counted, packs } = await store();
    // files written by two chunk workers: frames of A and B alternate
    const frames: BlobLocation[] = [];
    for (let i = 0; i < 16; i++) frames.push(frame(i % 2 ? B : A, Math.floor(i / 2) * 64 * KiB, 64 * KiB));
    const plan = new PlannedReads(counted, frames, { budgetBytes: 8 * 1024 * KiB });
    assert.equal(plan.rangeCount, 2);
    for (const f of frames) {
      const got = await plan.take(f);
      assert.ok(got?.equals(packs.get(f.pack)!.subarray(f.frameOffset, f.frameOffset + f.frameLength)), `${f.pack.slice(0, 2)}@${f.frameOffset}`);
    }
    assert.deepEqual(ranges(counted), [`getRange ${packName(A)}`, `getRange ${packName(B)}`]);
    assert.equal(plan.held, 0, 'every range dropped once read');
    // a frame taken already (or never planned) is the caller's to read
    assert.equal(await plan.take(frames[0]!), undefined);
    assert.equal(await plan.take(frame(A, 999 * KiB, 10)), undefined);
  });

  it('keeps the bytes fetched ahead within the budget (the range the reader waits for excepted), and splits far-apart frames', async () => {
    const { counted, packs } = await store();
    const frames: BlobLocation[] = [];
    for (let off = 0; off + 32 * KiB <= 1024 * KiB; off += 64 * KiB) frames.push(frame(A, off, 32 * KiB)); // 32 KiB gaps
    const plan = new PlannedReads(counted, frames, { budgetBytes: 200 * KiB, rangeBytes: 128 * KiB, gapBytes: 16 * KiB, inFlight: 4 });
    assert.equal(plan.rangeCount, 16, 'gaps wider than gapBytes are not read');
    let maxSeen = 0;
    for (const f of frames) {
      maxSeen = Math.max(maxSeen, plan.held);
      assert.ok((await plan.take(f))?.equals(packs.get(A)!.subarray(f.frameOffset, f.frameOffset + f.frameLength)));
    }
    assert.ok(plan.peakHeld <= 200 * KiB, `held ${plan.peakHeld} bytes at most`);
    assert.ok(plan.peakHeld > 32 * KiB, 'fetched ahead');
    assert.equal(ranges(counted).length, 16);
  });

  it('a read that fails is thrown to the reader of its frames; ranges left behind (a file that failed) are dropped', async () => {
    const { counted, packs } = await store();
    counted.add({ op: 'getRange', name: new RegExp(B), fault: { kind: 'permanent' } });
    const frames = [frame(A, 0, 64 * KiB), frame(B, 0, 64 * KiB), frame(B, 64 * KiB, 64 * KiB), frame(A, 512 * KiB, 64 * KiB)];
    const plan = new PlannedReads(counted, frames, { gapBytes: 0 });
    assert.equal(plan.rangeCount, 3);
    assert.ok((await plan.take(frames[0]!))?.equals(packs.get(A)!.subarray(0, 64 * KiB)));
    await assert.rejects(plan.take(frames[1]!));
    // frames[2] is never read (its file failed): reading on past it drops its range
    assert.ok((await plan.take(frames[3]!))?.equals(packs.get(A)!.subarray(512 * KiB, 576 * KiB)));
    assert.equal(plan.held, 0);
    plan.close();
  });
});
