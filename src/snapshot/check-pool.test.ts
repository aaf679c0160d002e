import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FixedClock } from '../core/clock.js';
import { FrameDecoder, type IndexedBlob, type Repository } from '../repo/index.js';
import { createBackup } from '../app/backups/create-backup.js';
import { flipChunkOf, flipPackByte, openRepo } from '../testing/damage.js';
import { FAST_KDF, TEST_PASSWORD, initEncrypted, passwordOf } from '../testing/encrypted.js';
import { appContext, prngBytes, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';
import { checkPackData, type PackDataResult } from './check-pack-data.js';
import { checkPacksInParallel, type PackJob } from './check-pool.js';
import { checkRepository, type RepositoryCheck } from './checker.js';

const MiB = 1024 * 1024;

/*
 * A verification's packs read by worker threads give the same verdicts, in the same order, as
 * read by the calling thread alone, damage included (a chunk's frame, a pack's trailer), in an
 * encrypted repository (the workers get its keys in memory).
 */
describe('checking packs on worker threads', () => {
  let sb: Sandbox;
  let repo: Repository;
  let jobs: PackJob[];
  let damagedPack: string;
  let damagedChunk: string;
  let ctx: () => ReturnType<typeof appContext>;
  const clock = new FixedClock(new Date('2026-02-07T02:00:15Z'));

  before(async () => {
    sb = sandbox();
    await initEncrypted(sb);
    ctx = () => ({ ...appContext(sb, { PRISM_BACKUP_CONCURRENCY: '1' }, clock), password: passwordOf(TEST_PASSWORD), kdf: FAST_KDF });
    writeDataset(sb.home, { files: 12 });
    writeFileSync(join(sb.home, 'level-1-hot', 'big-1.bin'), prngBytes(2 * MiB, 3));
    const full = await createBackup(ctx(), { type: 'full' });
    // each backup writes packs of its own: several data packs
    for (const i of [2, 3, 4]) {
      clock.advance(3600_000);
      writeFileSync(join(sb.home, 'level-2-warm', `big-${i}.bin`), prngBytes(MiB, i));
      await createBackup(ctx(), { type: 'incremental' });
    }
    const { chunk } = await flipChunkOf(sb, full, 'level-1-hot/big-1.bin', TEST_PASSWORD);
    damagedChunk = chunk.id;
    repo = await openRepo(sb, TEST_PASSWORD);
    const byPack = new Map<string, IndexedBlob[]>();
    for (const b of repo.index.entries()) byPack.set(b.pack, [...(byPack.get(b.pack) ?? []), b]);
    damagedPack = [...byPack.keys()].sort().find((p) => p !== chunk.pack)!;
    flipPackByte(sb, damagedPack, 'trailer');
    // a sound pack first: the calling thread takes it, the workers the damaged ones (see below)
    const sound = (p: string): boolean => p !== damagedPack && p !== chunk.pack;
    jobs = [...byPack].sort(([a], [b]) => Number(sound(b)) - Number(sound(a)) || a.localeCompare(b)).map(([pack, blobs]) => ({ pack, blobs }));
    assert.ok(jobs.length >= 4, `${jobs.length} packs`);
  });
  after(() => sb.cleanup());

  const localReader = () => {
    const reading = { into: { buffer: Buffer.alloc(0) }, decoder: new FrameDecoder(repo.crypt) };
    return (job: PackJob): Promise<PackDataResult> => checkPackData(repo, reading, job.pack, job.blobs);
  };

  it('workers check packs and return what the calling thread would find', async () => {
    const alone = await checkPacksInParallel(jobs, 0, { repoRoot: sb.repo, unlocked: undefined, config: repo.config }, localReader());
    const bad = alone.filter((r) => r.failed.length > 0 || !r.sound);
    assert.equal(bad.length, 2, 'the damaged chunk and the damaged trailer are found');
    assert.ok(alone.some((r) => r.failed.some(([, why]) => /does not open or decompress/.test(why))));
    assert.deepEqual(alone[jobs.findIndex((j) => j.pack === damagedPack)]!.failed, []);
    assert.equal(alone[jobs.findIndex((j) => j.pack === damagedPack)]!.sound, false);

    // the calling thread waits with its first pack until the workers have done all others
    const done = new Set<number>();
    const byLocal = new Set<number>();
    let workersDid!: () => void;
    const othersDone = new Promise<void>((r) => (workersDid = r));
    const read = localReader();
    const together = await checkPacksInParallel(
      jobs,
      2,
      { repoRoot: sb.repo, unlocked: repo.unlocked, config: repo.config },
      async (job) => {
        const n = jobs.indexOf(job);
        byLocal.add(n);
        if (byLocal.size === 1) await othersDone;
        return read(job);
      },
      {
        onPackDone: (n) => {
          done.add(n);
          if (done.size === jobs.length - 1 && !done.has(0)) workersDid();
        },
      },
    );
    assert.deepEqual([...byLocal], [0], 'the workers checked every other pack');
    assert.equal(done.size, jobs.length);
    assert.deepEqual(together, alone);
  });

  it('a pack is read in windows, not whole: the same verdicts from a buffer smaller than the pack', async () => {
    const read = localReader();
    const whole: PackDataResult[] = [];
    for (const job of jobs) whole.push(await read(job));
    const reading = { into: { buffer: Buffer.alloc(0) }, decoder: new FrameDecoder(repo.crypt), windowBytes: 64 * 1024 };
    const windowed: PackDataResult[] = [];
    for (const job of jobs) windowed.push(await checkPackData(repo, reading, job.pack, job.blobs));
    assert.deepEqual(windowed, whole);
    const biggest = Math.max(...(await Promise.all(jobs.map((j) => repo.packSize(j.pack)))));
    const frames = Math.max(...jobs.flatMap((j) => j.blobs.map((b) => b.frameLength)));
    assert.ok(biggest > 2 * MiB, `the biggest pack holds ${biggest} bytes`);
    // (a reused buffer grows by half again when too small)
    assert.ok(reading.into.buffer.length <= 1.5 * (64 * 1024 + frames), `read buffer of ${reading.into.buffer.length} bytes (largest frame ${frames})`);
    assert.ok(reading.into.buffer.length < biggest);
  });

  it('checkRepository reports the same with worker threads as without', async () => {
    const manifests = await repo.listManifests();
    const run = (concurrency: number): Promise<RepositoryCheck> =>
      checkRepository({ repo, manifests, data: { kind: 'all' }, repoRoot: sb.repo, concurrency, parallelBytes: 0 });
    const alone = await run(1);
    assert.ok(alone.damagedFiles.some((f) => f.path === 'level-1-hot/big-1.bin'));
    assert.deepEqual(
      alone.damagedPacks.map((d) => [d.pack, d.part]),
      [[damagedPack, 'trailer']],
    );
    assert.deepEqual(await run(3), alone);
  });

  it('workers that read every pack while the trees are walked judge only what the checked backups reference', async () => {
    // a backup without the damaged file (nor big-3.bin: the same random bytes as big-1's first MiB,
    // so it may share the damaged chunk): the damaged chunk is then not referenced by it
    rmSync(join(sb.home, 'level-1-hot', 'big-1.bin'));
    rmSync(join(sb.home, 'level-2-warm', 'big-3.bin'));
    clock.advance(3600_000);
    await createBackup(ctx(), { type: 'incremental' });
    repo = await openRepo(sb, TEST_PASSWORD);
    const manifests = await repo.listManifests();
    const run = (subset: typeof manifests, concurrency: number): Promise<RepositoryCheck> =>
      checkRepository({ repo, manifests: subset, data: { kind: 'all' }, repoRoot: sb.repo, concurrency, parallelBytes: 0 });
    const latest = manifests.slice(-1);
    const alone = await run(latest, 1);
    // (the damaged trailer may lie in a frame of a file the latest backup still holds: that one is reported)
    assert.ok(!alone.damagedChunks.has(damagedChunk), 'the damaged chunk is not in the latest backup: not judged');
    assert.ok(!alone.damagedFiles.some((f) => f.path === 'level-1-hot/big-1.bin'));
    assert.deepEqual(await run(latest, 3), alone);
    assert.deepEqual(await run(manifests.slice(0, 1), 3), await run(manifests.slice(0, 1), 1));
  });
});
