import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalBackend } from '../../backend/index.js';
import { FixedClock } from '../../core/clock.js';
import { Repository, type Manifest } from '../../repo/index.js';
import { appContext, hashTree, prngBytes, readBackTree, sandbox, writeDataset, type Sandbox, sizeListing } from '../../testing/fixtures.js';
import type { AppContext } from '../context.js';
import { createBackup } from '../backups/create-backup.js';
import { pruneRepository } from './prune-command.js';
import { verifyBackups } from '../integrity/verify-backups.js';

/** Every file of `dir` → its size. */

/** Pack ids under data/. */
const packs = (sb: Sandbox) => new Set([...sizeListing(join(sb.repo, 'data')).keys()].map((p) => p.slice(p.lastIndexOf('/') + 1)));
const newPacks = (before: Set<string>, after: Set<string>) => [...after].filter((p) => !before.has(p));

async function filesOf(sb: Sandbox, m: Manifest): Promise<Map<string, string>> {
  const repo = await Repository.open(new LocalBackend(sb.repo), new FixedClock(new Date()));
  await repo.loadIndex();
  const out = new Map<string, string>();
  for (const [p, v] of await readBackTree(repo, m.tree!)) if (v.sha256 !== undefined) out.set(p, v.sha256);
  return out;
}

describe('pruneRepository on a real repository', () => {
  let sb: Sandbox;
  let clock: FixedClock;
  let ctx: AppContext;
  const expected = new Map<string, Map<string, string>>();
  let f1: Manifest;
  let g1: Manifest;
  let x: Manifest;
  let g2: Manifest;
  let f1Packs: string[];
  let xPacks: string[];

  const backup = async (type: 'full' | 'incremental') => {
    clock.advance(3_600_000);
    const m = await createBackup(ctx, { type });
    assert.equal(m.status, 'completed');
    expected.set(m.id, hashTree(sb.home));
    return m;
  };

  before(async () => {
    sb = sandbox();
    clock = new FixedClock(new Date('2026-02-07T02:00:15Z'));
    ctx = appContext(sb, {}, clock);
    writeDataset(sb.home, { files: 40, seed: 3 });
    let seen = packs(sb);
    f1 = await backup('full');
    f1Packs = newPacks(seen, packs(sb));
    assert.equal(f1Packs.length, 1, 'the small data set fits one pack');
    // a small share of f1's pack becomes unused once f1 is gone: doc-0 (about 2 KB of ~0.5 MB)
    rmSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'));
    g1 = await backup('incremental');
    // x alone holds a 1 MiB random file: its pack is used by nothing else once x is gone
    writeFileSync(join(sb.home, 'level-3-cold', 'x-only.bin'), prngBytes(1024 * 1024, 9));
    seen = packs(sb);
    x = await backup('incremental');
    xPacks = newPacks(seen, packs(sb));
    assert.ok(xPacks.length >= 1);
    rmSync(join(sb.home, 'level-3-cold', 'x-only.bin'));
    g2 = await backup('incremental');
    // the backups to prune away: their manifests are deleted
    rmSync(join(sb.repo, 'snapshots', `${f1.id}.json`));
    rmSync(join(sb.repo, 'snapshots', `${x.id}.json`));
  });
  after(() => sb.cleanup());

  it('a dry run changes no file and plans: unused packs deleted, a slightly unused pack kept at 5 % and repacked at 0 %', async () => {
    const before = sizeListing(sb.repo);
    const plan = await pruneRepository(ctx, { dryRun: true });
    assert.deepEqual(sizeListing(sb.repo), before, 'the dry run with the default threshold changes nothing');
    assert.equal(plan.dry_run, true);
    assert.deepEqual([...plan.unusedPacks].sort(), [...xPacks].sort(), "x's pack is used by nothing else");
    assert.deepEqual(plan.repackPacks, [], "f1's pack is well under 5 % unused");
    assert.ok(plan.keptUnusedBytes > 0, 'the unused share of the kept pack is reported');
    assert.deepEqual(plan.orphanPacks, []);
    assert.ok(plan.freedBytes >= 1024 * 1024, `the 1 MiB random file is freed: ${plan.freedBytes}`);

    const strict = await pruneRepository(ctx, { dryRun: true, maxUnused: 0 });
    assert.deepEqual(sizeListing(sb.repo), before, 'the dry run with --max-unused 0 changes nothing');
    assert.deepEqual(strict.repackPacks, f1Packs, 'at 0 % the partly used pack is repacked');
    assert.deepEqual([...strict.unusedPacks].sort(), [...xPacks].sort());
    assert.equal(strict.keptUnusedBytes, 0);
  });

  it('deletes the packs only a deleted backup used, repacks the partly used one at --max-unused 0, keeps the rest readable', async () => {
    const sizeBefore = [...sizeListing(sb.repo).values()].reduce((a, b) => a + b, 0);
    const packsBefore = packs(sb);
    const r = await pruneRepository(ctx, { maxUnused: 0 });
    assert.equal(r.dry_run, false);
    const after = packs(sb);
    for (const p of xPacks) assert.equal(after.has(p), false, `unused pack ${p} is deleted`);
    for (const p of f1Packs) assert.equal(after.has(p), false, `repacked pack ${p} is deleted`);
    const created = newPacks(packsBefore, after);
    assert.ok(
      'newPacks' in r && r.newPacks === created.length && created.length >= 1,
      `the used data of the repacked pack went to new packs: ${JSON.stringify(r)}`,
    );
    assert.equal(sizeListing(join(sb.repo, 'index')).size, 1, 'one index file is left');
    assert.ok([...sizeListing(sb.repo).values()].reduce((a, b) => a + b, 0) < sizeBefore - 1024 * 1024);

    const verify = await verifyBackups(ctx, { all: true, data: { kind: 'all' } });
    assert.equal(verify.ok, true, JSON.stringify(verify.backups.filter((b) => !b.ok)));
    assert.equal(verify.backups.length, 2);
    for (const m of [g1, g2]) assert.deepEqual(await filesOf(sb, m), expected.get(m.id), `${m.id} reads back every file`);

    const again = await pruneRepository(ctx, { dryRun: true, maxUnused: 0 });
    assert.deepEqual([again.unusedPacks, again.repackPacks, again.orphanPacks, again.unusedBytes], [[], [], [], 0], 'nothing is left to prune');
  });

  it('a pack file no index names is removed as an orphan (the dry run only reports it)', async () => {
    const [some] = [...packs(sb)];
    const orphan = `ab${'0123456789abcdef'.repeat(4).slice(2)}`;
    mkdirSync(join(sb.repo, 'data', 'ab'), { recursive: true });
    copyFileSync(join(sb.repo, 'data', some!.slice(0, 2), some!), join(sb.repo, 'data', 'ab', orphan));
    const before = sizeListing(sb.repo);
    const plan = await pruneRepository(ctx, { dryRun: true });
    assert.deepEqual(plan.orphanPacks, [`data/${orphan.slice(0, 2)}/${orphan}`]);
    assert.deepEqual(sizeListing(sb.repo), before, 'the dry run leaves the orphan');
    const r = await pruneRepository(ctx, {});
    assert.deepEqual(r.orphanPacks, [`data/${orphan.slice(0, 2)}/${orphan}`]);
    assert.equal(existsSync(join(sb.repo, 'data', 'ab', orphan)), false, 'the orphan is deleted');
    assert.equal(existsSync(join(sb.repo, 'data', some!.slice(0, 2), some!)), true, 'the pack it was copied from stays');
    const verify = await verifyBackups(ctx, { all: true, data: { kind: 'all' } });
    assert.equal(verify.ok, true);
    for (const m of [g1, g2]) assert.deepEqual(await filesOf(sb, m), expected.get(m.id));
  });

  it('an unindexed file under a data/ folder that does not match its name is removed too (not only reported as freed)', async () => {
    const [some] = [...packs(sb)];
    mkdirSync(join(sb.repo, 'data', 'zz'), { recursive: true });
    const stray = join(sb.repo, 'data', 'zz', 'cd'.repeat(32));
    copyFileSync(join(sb.repo, 'data', some!.slice(0, 2), some!), stray);
    const r = await pruneRepository(ctx, {});
    assert.deepEqual(r.orphanPacks, [`data/zz/${'cd'.repeat(32)}`], 'it is found as an orphan');
    assert.equal(existsSync(stray), false, `prune reported ${r.freedBytes} bytes freed, but the orphan is still there`);
    const again = await pruneRepository(ctx, { dryRun: true });
    assert.deepEqual(again.orphanPacks, [], 'a second prune finds nothing');
  });
});
