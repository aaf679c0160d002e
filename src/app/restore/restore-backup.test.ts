import assert from 'node:assert/strict';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  watch,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FixedClock, systemClock } from '../../core/clock.js';
import type { PrismError } from '../../errors/index.js';
import type { TreeNode } from '../../repo/index.js';
import { dirOf, emptyFile, withExtraTopLevel } from '../../testing/crafted-trees.js';
import { appContext, hashTree, prng, prngBytes, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { snapshotDir } from '../../testing/snapshot-dir.js';
import { createBackup } from '../backups/create-backup.js';
import { restoreBackup } from './restore-backup.js';
import { pidFile } from '../monitoring/service-state.js';

describe('restoreBackup', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox();
  });
  afterEach(() => sb.cleanup());

  it('round-trips odd names, symlinks, empty dirs, modes, mtimes, a sparse file and a file over 100 MB', async () => {
    writeDataset(sb.home, { files: 6 });
    const odd = join(sb.home, 'level-1-hot', 'odd names');
    mkdirSync(odd, { recursive: true });
    for (const name of ['with space.json', 'ünïcödé-数据.json', 'new\nline.txt', 'tab\tand"quote\'.txt', '-starts-with-dash'])
      writeFileSync(join(odd, name), `content of ${name}`);
    chmodSync(join(odd, 'with space.json'), 0o640);
    utimesSync(join(odd, 'with space.json'), new Date('2024-03-04T05:06:07.123Z'), new Date('2024-03-04T05:06:07.123Z'));
    symlinkSync('with space.json', join(odd, 'rel-link'));
    symlinkSync('/nonexistent/absolute/target', join(odd, 'dangling-link'));
    mkdirSync(join(sb.home, 'level-3-cold', 'empty', 'nested-empty'), { recursive: true });
    const sparse = join(sb.home, 'level-3-cold', 'sparse.img');
    writeFileSync(sparse, 'head');
    truncateSync(sparse, 64 * 1024 * 1024);
    appendFileSync(sparse, 'tail');
    const big = join(sb.home, 'level-3-cold', 'big.bin');
    writeFileSync(big, Buffer.concat([prngBytes(101 * 1024 * 1024, 5), Buffer.from('end')]));
    const ctx = appContext(sb, { PRISM_BACKUP_CONCURRENCY: '2' });
    const m = await createBackup(ctx, { type: 'full' });
    const out = join(sb.root, 'restored');
    const r = await restoreBackup(ctx, { id: m.id, target: out });
    assert.equal(r.problems.length, 0);
    assert.equal(r.live, false);
    assert.deepEqual(snapshotDir(out), snapshotDir(sb.home));
    assert.ok(statSync(join(out, 'level-3-cold', 'sparse.img')).blocks * 512 < 8 * 1024 * 1024, 'the sparse file stays sparse');
    assert.ok(!existsSync(join(out, 'logs')), 'excluded folders are not in the backup');
    assert.deepEqual(
      readdirSync(out).filter((n) => n.startsWith('.prism-restore')),
      [],
      'no staging left',
    );
  });

  it('restores over live data: changes reverted, new files removed, logs untouched, a safety backup taken', async () => {
    writeDataset(sb.home, { files: 12 });
    const ctx = appContext(sb, {}, systemClock);
    const m = await createBackup(ctx, { type: 'full' });
    const before = snapshotDir(sb.home);
    writeFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), '{"changed":true}');
    writeFileSync(join(sb.home, 'level-2-warm', 'added.json'), '{}');
    rmSync(join(sb.home, 'level-3-cold'), { recursive: true });
    writeFileSync(join(sb.home, 'logs', 'gateway.log'), 'live log line\n');
    const r = await restoreBackup(ctx, { id: m.id, confirm: true });
    assert.equal(r.live, true);
    assert.equal(r.plan.overwrite.count, 1);
    assert.equal(r.plan.remove.count, 1);
    assert.ok(r.plan.create.count > 0);
    assert.deepEqual(snapshotDir(sb.home), before);
    assert.equal(readFileSync(join(sb.home, 'logs', 'gateway.log'), 'utf8'), 'live log line\n');
    assert.ok(r.safety_backup);
    const log = readdirSync(sb.repo + '/snapshots');
    assert.equal(log.length, 2);
    assert.deepEqual(
      readdirSync(sb.home).filter((n) => n.startsWith('.prism-restore')),
      [],
    );
  });

  it('a dry run reports and changes nothing (bytes and mtimes untouched)', async () => {
    writeDataset(sb.home, { files: 8 });
    const ctx = appContext(sb);
    const m = await createBackup(ctx, { type: 'full' });
    writeFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), '{"changed":true}');
    writeFileSync(join(sb.home, 'level-1-hot', 'extra.json'), '{}');
    const before = snapshotDir(sb.home);
    const r = await restoreBackup(ctx, { id: m.id, dryRun: true });
    assert.equal(r.dry_run, true);
    assert.deepEqual(r.changes!.overwrite, ['level-1-hot/shard-0/doc-0.json']);
    assert.deepEqual(r.changes!.remove, ['level-1-hot/extra.json']);
    assert.deepEqual(snapshotDir(sb.home), before);
    assert.equal(readdirSync(join(sb.repo, 'snapshots')).length, 1, 'no safety backup on a dry run');
  });

  it('refuses to overwrite without --confirm, and while the service runs unless --force', async () => {
    writeDataset(sb.home, { files: 4 });
    const ctx = appContext(sb);
    const m = await createBackup(ctx, { type: 'full' });
    writeFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), '{"changed":true}');
    const before = snapshotDir(sb.home);
    await assert.rejects(
      restoreBackup(ctx, { id: m.id }),
      (e: PrismError) => e.code === 'CONFIRMATION_REQUIRED' && /--confirm/.test(e.message) && /--dry-run/.test(e.message),
    );
    writeFileSync(pidFile(sb.home), String(process.pid));
    await assert.rejects(
      restoreBackup(ctx, { id: m.id, confirm: true }),
      (e: PrismError) => e.code === 'SERVICE_RUNNING' && e.message.includes(String(process.pid)),
    );
    assert.deepEqual(snapshotDir(sb.home), before);
    const r = await restoreBackup(ctx, { id: m.id, confirm: true, force: true, safetyBackup: false });
    assert.equal(r.safety_backup, null);
    assert.equal(readFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), 'utf8').startsWith('{"doc"'), true);
  });

  it('restores into a new directory without --confirm (nothing is overwritten)', async () => {
    writeDataset(sb.home, { files: 3 });
    const ctx = appContext(sb);
    const m = await createBackup(ctx, { type: 'full' });
    const r = await restoreBackup(ctx, { id: m.id, target: join(sb.root, 'restore-test') });
    assert.equal(r.plan.overwrite.count + r.plan.remove.count, 0);
    assert.deepEqual(hashTree(join(sb.root, 'restore-test')), hashTree(sb.home));
  });

  it('holds one shared lock from plan to swap when no safety backup runs in between (one lock file: fewer requests on a remote store)', async () => {
    writeDataset(sb.home, { files: 3 });
    const ctx = appContext(sb);
    const m = await createBackup(ctx, { type: 'full' });
    const seen = new Set<string>();
    const watcher = watch(join(ctx.config.storagePath, 'locks'), (_event, name) => {
      if (name?.startsWith('shared-') && name.endsWith('.json')) seen.add(name);
    });
    try {
      await restoreBackup(ctx, { id: m.id, confirm: true, safetyBackup: false });
      await new Promise((r) => setTimeout(r, 50)); // the last events
    } finally {
      watcher.close();
    }
    assert.equal(seen.size, 1, [...seen].join(', '));
    assert.deepEqual(readdirSync(join(ctx.config.storagePath, 'locks')), [], 'released');
  });

  it('--include restores one folder only; --exclude keeps the live content of a path', async () => {
    writeDataset(sb.home, { files: 12 });
    const ctx = appContext(sb);
    const m = await createBackup(ctx, { type: 'full' });
    writeFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), 'hot changed');
    writeFileSync(join(sb.home, 'level-2-warm', 'shard-1', 'doc-1.json'), 'warm changed');
    writeFileSync(join(sb.home, 'level-2-warm', 'shard-3', 'doc-7.json'), 'warm excluded change');
    await restoreBackup(ctx, { id: m.id, confirm: true, safetyBackup: false, include: ['level-1-hot'] });
    assert.notEqual(readFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), 'utf8'), 'hot changed');
    assert.equal(readFileSync(join(sb.home, 'level-2-warm', 'shard-1', 'doc-1.json'), 'utf8'), 'warm changed');
    await restoreBackup(ctx, { id: m.id, confirm: true, safetyBackup: false, include: ['level-2-warm'], exclude: ['level-2-warm/shard-3'] });
    assert.notEqual(readFileSync(join(sb.home, 'level-2-warm', 'shard-1', 'doc-1.json'), 'utf8'), 'warm changed');
    assert.equal(readFileSync(join(sb.home, 'level-2-warm', 'shard-3', 'doc-7.json'), 'utf8'), 'warm excluded change');
    await assert.rejects(restoreBackup(ctx, { id: m.id, confirm: true, include: ['no-such-dir'] }), (e: PrismError) => e.code === 'INVALID_ARGUMENT');
    await assert.rejects(restoreBackup(ctx, { id: m.id, confirm: true, include: ['../etc'] }), (e: PrismError) => e.code === 'INVALID_ARGUMENT');
  });

  it('--at picks the latest completed backup at or before the time', async () => {
    writeDataset(sb.home, { files: 2 });
    const clock = new FixedClock(new Date('2026-02-06T03:00:00Z'));
    const first = await createBackup(appContext(sb, {}, clock), { type: 'full' });
    writeFileSync(join(sb.home, 'level-1-hot', 'later.json'), '{}');
    clock.set(new Date('2026-02-08T03:00:00Z'));
    await createBackup(appContext(sb, {}, clock), { type: 'incremental' });
    const out = join(sb.root, 'at');
    const r = await restoreBackup(appContext(sb, {}, clock), { at: new Date('2026-02-07T00:00:00Z'), target: out });
    assert.equal(r.backup, first.id);
    assert.ok(!existsSync(join(out, 'level-1-hot', 'later.json')));
    await assert.rejects(
      restoreBackup(appContext(sb, {}, clock), { at: new Date('2020-01-01T00:00:00Z'), target: out }),
      (e: PrismError) => e.code === 'BACKUP_NOT_FOUND',
    );
  });

  it('--incremental applies a backup only onto its parent state', async () => {
    writeDataset(sb.home, { files: 6 });
    const ctx = appContext(sb, {}, systemClock);
    const full = await createBackup(ctx, { type: 'full' });
    writeFileSync(join(sb.home, 'level-1-hot', 'inc.json'), '{"inc":1}');
    const inc = await createBackup(ctx, { type: 'incremental' });
    const out = join(sb.root, 'chain');
    await restoreBackup(ctx, { id: full.id, target: out });
    writeFileSync(join(out, 'level-2-warm', 'stray.json'), 'not in the parent');
    await assert.rejects(
      restoreBackup(ctx, { id: inc.id, target: out, incremental: true, confirm: true }),
      (e: PrismError) => e.code === 'INCREMENTAL_BASE_MISMATCH',
    );
    rmSync(join(out, 'level-2-warm', 'stray.json'));
    await restoreBackup(ctx, { id: inc.id, target: out, incremental: true, confirm: true });
    assert.deepEqual(hashTree(out), hashTree(sb.home));
    await assert.rejects(
      restoreBackup(ctx, { id: full.id, target: out, incremental: true, confirm: true }),
      (e: PrismError) => e.code === 'INCREMENTAL_BASE_MISMATCH' && /full backup/.test(e.message),
    );
  });

  it('restores mtimes to the nanosecond: 2000 files, 20 directories and 20 symlinks with random ns mtimes compare exactly', async () => {
    writeDataset(sb.home, { files: 1 });
    const ctx = appContext(sb, {}, systemClock);
    const real = await createBackup(ctx, { type: 'full' });
    const rnd = prng(16);
    const ns = (): string => (BigInt(1_000_000_000 + Math.floor(rnd() * 800_000_000)) * 1_000_000_000n + BigInt(Math.floor(rnd() * 1e9))).toString();
    const expected = new Map<string, string>();
    const m = await withExtraTopLevel(sb, real, 'backup_20300101_000000_full', (store) => {
      const dirs: TreeNode[] = [];
      for (let d = 0; d < 20; d++) {
        const nodes: TreeNode[] = [];
        for (let f = 0; f < 100; f++) nodes.push({ ...emptyFile(`f${String(f).padStart(3, '0')}`), mtime: ns() });
        nodes.push({ name: 'link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: ns(), ctime: '0', inode: '0', target: 'f000' });
        for (const n of nodes) expected.set(`ns/d${d}/${n.name}`, n.mtime);
        dirs.push({ ...dirOf(`d${d}`, store(nodes)), mtime: ns() });
      }
      for (const n of dirs) expected.set(`ns/${n.name}`, n.mtime);
      return [dirOf('ns', store(dirs))];
    });
    const out = join(sb.root, 'ns-restored');
    await restoreBackup(ctx, { id: m.id, target: out });
    const off: string[] = [];
    for (const [path, mtime] of expected) {
      const got = lstatSync(join(out, path), { bigint: true }).mtimeNs;
      if (got !== BigInt(mtime)) off.push(`${path}: ${got} != ${mtime}`);
    }
    assert.deepEqual(off.slice(0, 5), [], `${off.length} of ${expected.size} mtimes differ`);
    const again = await restoreBackup(ctx, { id: m.id, target: out, dryRun: true });
    assert.equal(again.plan.overwrite.count + again.plan.create.count, 0, 'a restored copy compares as unchanged');
  });
});
