import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { sha256Hex } from '../../codec/hash.js';
import { FixedClock, systemClock } from '../../core/clock.js';
import type { PrismError } from '../../errors/index.js';
import { BLOB_TYPE, Crypt, type Manifest, type TreeNode } from '../../repo/index.js';
import { decodeTrailer } from '../../repo/pack-format.js';
import { dirOf, emptyFile, treeStore, withExtraTopLevel } from '../../testing/crafted-trees.js';
import { appContext, prngBytes, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { flipChunkOf, openRepo } from '../../testing/damage.js';
import { snapshotDir } from '../../testing/snapshot-dir.js';
import { backupInfo } from '../backups/backup-info.js';
import { createBackup } from '../backups/create-backup.js';
import { checkDataHealth } from '../integrity/health-check.js';
import { listBackups } from '../backups/list-backups.js';
import { restoreBackup } from './restore-backup.js';
import { verifyBackups } from '../integrity/verify-backups.js';

describe('restoreBackup: damaged data, crafted trees, interrupted swaps', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox();
  });
  afterEach(() => sb.cleanup());

  it('a damaged pack: live restore refuses and changes nothing; another target gets what can be restored', async () => {
    writeDataset(sb.home, { files: 10 });
    // one chunk, so a frame of its own, whatever the repository's chunker seed: constant bytes give
    // a constant gear hash, which (but for a 2^-22 chance) never matches the cut mask
    writeFileSync(join(sb.home, 'level-3-cold', 'blob.bin'), Buffer.alloc(700 * 1024, 0x5a));
    const ctx = appContext(sb);
    const m = await createBackup(ctx, { type: 'full' });
    // damage a frame that holds file data only (a damaged tree would make the whole backup unreadable)
    const packDir = join(sb.repo, 'data');
    const damaged = readdirSync(packDir, { recursive: true })
      .map(String)
      .filter((n) => n.length > 10)
      .some((name) => {
        const bytes = readFileSync(join(packDir, name));
        const frame = decodeTrailer(bytes, Crypt.NONE).frames.find((f) => f.b.every(([type]) => type === BLOB_TYPE.data));
        if (!frame) return false;
        bytes[frame.o + Math.floor(frame.l / 2)] ^= 0xff;
        writeFileSync(join(packDir, name), bytes);
        return true;
      });
    assert.ok(damaged, 'a data-only frame was found and damaged');
    writeFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), 'live');
    const before = snapshotDir(sb.home);
    await assert.rejects(
      restoreBackup(ctx, { id: m.id, confirm: true, safetyBackup: false }),
      (e: PrismError) => e.id === 'ERR_BACKUP_005' && /damaged/.test(e.message),
    );
    assert.deepEqual(snapshotDir(sb.home), before);
    assert.deepEqual(
      readdirSync(sb.home).filter((n) => n.startsWith('.prism-restore')),
      [],
    );
    const out = join(sb.root, 'partial');
    const r = await restoreBackup(ctx, { id: m.id, target: out });
    assert.ok(r.problems.length > 0, 'damaged files are named');
    assert.ok(r.problems.every((p) => p.code === 'ERR_BACKUP_005'));
    assert.ok(r.files > 0, 'the rest is restored');
  });

  it('a damaged chunk found by a refused restore: the backup is marked corrupted, the chunk leaves the index, the next backup stores a fresh copy that restores', async () => {
    writeDataset(sb.home, { files: 6 });
    writeFileSync(join(sb.home, 'level-1-hot', 'aaa-big.bin'), prngBytes(6 * 1024 * 1024, 17));
    const clock = new FixedClock(new Date('2026-02-07T02:00:15Z'));
    const ctx = appContext(sb, { PRISM_BACKUP_CONCURRENCY: '1' }, clock);
    const m = await createBackup(ctx, { type: 'full' });
    const { chunk } = await flipChunkOf(sb, m, 'level-1-hot/aaa-big.bin');
    // the live big file still holds the damaged chunk's content; another file changed, so a safety backup is due
    writeFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), 'live');
    clock.advance(3600_000);
    await assert.rejects(restoreBackup(ctx, { id: m.id, confirm: true }), (e: PrismError) => e.id === 'ERR_BACKUP_005' && /aaa-big\.bin/.test(e.message));
    assert.equal((await backupInfo(ctx, m.id)).status, 'corrupted', 'the refused restore marked the backup');
    assert.equal((await backupInfo(ctx, m.id)).error?.code, 'ERR_BACKUP_005');
    assert.equal((await openRepo(sb)).index.hasHex(chunk.id), false, 'the damaged copy left the index at once');
    // no backup made after the damage was found points at the damaged copy
    for (const b of await listBackups(ctx)) {
      if (b.id === m.id) continue;
      assert.equal((await verifyBackups(ctx, { id: b.id, data: { kind: 'all' } })).ok, true, `${b.id} is whole`);
    }

    clock.advance(3600_000);
    const next = await createBackup(ctx, { type: 'full' });
    const fresh = (await openRepo(sb)).index.get(chunk.id);
    assert.ok(fresh && fresh.pack !== chunk.pack, 'a fresh copy of the chunk is stored in a new pack');
    const out = join(sb.root, 'fresh');
    const r = await restoreBackup(ctx, { id: next.id, target: out });
    assert.deepEqual(r.problems, []);
    assert.equal(sha256Hex(readFileSync(join(out, 'level-1-hot', 'aaa-big.bin'))), sha256Hex(readFileSync(join(sb.home, 'level-1-hot', 'aaa-big.bin'))));
    assert.equal((await verifyBackups(ctx, { id: next.id, data: { kind: 'all' } })).ok, true);
  });

  it('restore worker threads: chunks recorded as damaged are reported as such by whichever thread meets them, and progress counts every file once', async () => {
    writeDataset(sb.home, { files: 30 });
    const damagedFiles = ['level-1-hot/aaa-big.bin', 'level-2-warm/mmm-big.bin', 'level-3-cold/zzz-big.bin'];
    for (const [i, f] of damagedFiles.entries()) writeFileSync(join(sb.home, f), prngBytes(6 * 1024 * 1024, 40 + i));
    for (let i = 0; i < 8; i++) writeFileSync(join(sb.home, 'level-2-warm', `fill-${i}.bin`), prngBytes(3 * 1024 * 1024, 50 + i));
    const ctx = appContext(sb, { PRISM_BACKUP_CONCURRENCY: '2' });
    const m = await createBackup(ctx, { type: 'full' });
    for (const f of damagedFiles) await flipChunkOf(sb, m, f);
    // the first restore finds the damage and records it; the second finds those chunks gone from the index
    const first = await restoreBackup(ctx, { id: m.id, target: join(sb.root, 'first') });
    assert.deepEqual(first.problems.map((p) => p.path).sort(), damagedFiles);
    let files = 0;
    let bytes = 0;
    let total: { files: number; bytes: number } | undefined;
    const r = await restoreBackup(ctx, {
      id: m.id,
      target: join(sb.root, 'second'),
      onProgress: (e) => {
        if (e.kind === 'start') total = { files: e.totalFiles, bytes: e.totalBytes };
        if (e.kind === 'advance') {
          files += e.files;
          bytes += e.bytes;
        }
      },
    });
    assert.deepEqual(r.problems.map((p) => p.path).sort(), damagedFiles);
    for (const p of r.problems) {
      assert.equal(p.code, 'ERR_BACKUP_005', p.path);
      assert.match(p.message, /found damaged and dropped from the index/, p.path);
    }
    assert.deepEqual({ files, bytes }, total, 'every file reported once, from every thread');
    assert.equal(r.files + r.problems.length, total!.files);
  });

  it('refuses crafted trees: "..", "/" in names, and a name listed twice (symlink + directory)', async () => {
    writeDataset(sb.home, { files: 1 });
    const ctx = appContext(sb);
    const real = await createBackup(ctx, { type: 'full' });
    const { repo, store, finish } = await treeStore(sb);
    const outside = join(sb.root, 'outside');
    mkdirSync(outside);
    const node = (name: string, extra: Partial<TreeNode>): TreeNode => ({ ...emptyFile(name), mtime: '0', ...extra });
    const inner = store([node('x', {})]);
    const crafted = [
      store([node('..', { type: 'dir', subtree: inner })]),
      store([node('a/../../b', {})]),
      store([node('a', { type: 'dir', subtree: inner }), node('a', { type: 'symlink', target: outside })], false),
    ];
    await finish();
    for (const [i, tree] of crafted.entries()) {
      const id = `backup_20300101_00000${i}_full`;
      const m: Manifest = { ...real, id, tree, checksum: `sha256:${tree}`, started_at: `2030-01-01T00:00:0${i}.000Z` };
      await repo.saveManifest(m);
      const target = join(sb.root, `t${i}`);
      await assert.rejects(restoreBackup(ctx, { id, target }), (e: PrismError) => e.code === 'REPO_CORRUPT', `crafted tree ${i}`);
    }
    assert.deepEqual(readdirSync(outside), [], 'nothing written outside the target');
    assert.ok(!existsSync(join(sb.root, 'b')));
  });

  it("a backup holding prism's working names (.prism-restore.journal, .prism-restore-old-*) is refused whole; with them excluded it restores, and logs stay untouched", async () => {
    writeDataset(sb.home, { files: 4 });
    const ctx = appContext(sb, {}, systemClock);
    const real = await createBackup(ctx, { type: 'full' });
    const m = await withExtraTopLevel(sb, real, 'backup_20300101_000000_full', (store) => [
      dirOf('.prism-restore.journal', store([emptyFile('x')])),
      dirOf('.prism-restore-old-x', store([emptyFile('y')])),
      dirOf('logs', store([emptyFile('gateway.log')])),
    ]);
    writeFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), 'changed');
    writeFileSync(join(sb.home, 'logs', 'gateway.log'), 'live log line\n');
    const before = snapshotDir(sb.home);
    for (const dryRun of [true, false]) {
      await assert.rejects(
        restoreBackup(ctx, { id: m.id, confirm: !dryRun, dryRun, safetyBackup: false }),
        (e: PrismError) => e.code === 'RESTORE_PATH_REFUSED' && e.message.includes('.prism-restore.journal') && e.message.includes('--exclude'),
      );
      assert.deepEqual(snapshotDir(sb.home), before, 'nothing changed');
      assert.deepEqual(
        readdirSync(sb.home).filter((n) => n.startsWith('.prism-restore')),
        [],
        'nothing left over',
      );
    }
    assert.equal((await checkDataHealth(ctx)).issues.filter((i) => i.path.includes('prism-restore')).length, 0);
    const r = await restoreBackup(ctx, { id: m.id, confirm: true, safetyBackup: false, exclude: ['.prism-restore.journal', '.prism-restore-old-x'] });
    assert.deepEqual(r.untouched, ['logs']);
    assert.notEqual(readFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), 'utf8'), 'changed');
    assert.equal(readFileSync(join(sb.home, 'logs', 'gateway.log'), 'utf8'), 'live log line\n', 'live logs are never restored over');
    assert.deepEqual(
      readdirSync(sb.home).filter((n) => n.startsWith('.prism-restore')),
      [],
    );
    // into another directory, logs are ordinary data
    const out = join(sb.root, 'elsewhere');
    const other = await restoreBackup(ctx, { id: m.id, target: out, exclude: ['.prism-restore.journal', '.prism-restore-old-x'] });
    assert.deepEqual(other.untouched, []);
    assert.ok(existsSync(join(out, 'logs', 'gateway.log')));
  });

  it('an interrupted swap that cannot be completed is reported by health check data and the next restore; once its cause is gone both complete it', async () => {
    writeDataset(sb.home, { files: 4 });
    const ctx = appContext(sb, {}, systemClock);
    const m = await createBackup(ctx, { type: 'full' });
    const staging = '.prism-restore-backup_x-1';
    const trash = '.prism-restore-old-backup_x-1';
    mkdirSync(join(sb.home, staging, 'level-1-hot'), { recursive: true });
    writeFileSync(join(sb.home, staging, 'level-1-hot', 'new.json'), '{}');
    writeFileSync(join(sb.home, trash), 'in the way'); // the trash folder cannot be made
    const journal = {
      backup: m.id,
      staging,
      trash,
      steps: [
        ['level-1-hot', `${trash}/level-1-hot`],
        [`${staging}/level-1-hot`, 'level-1-hot'],
      ],
      done: 0,
      state: 'swapping',
    };
    writeFileSync(join(sb.home, '.prism-restore.journal'), JSON.stringify(journal));
    const health = await checkDataHealth(ctx);
    assert.equal(health.healthy, false);
    const issue = health.issues.find((i) => i.check === 'restore');
    assert.ok(issue, JSON.stringify(health.issues));
    assert.match(issue.message, /interrupted restore/);
    await assert.rejects(
      restoreBackup(ctx, { id: m.id, confirm: true, safetyBackup: false }),
      (e: PrismError) => e.code === 'RESTORE_RECOVERY_FAILED' && e.message.includes(trash),
    );
    rmSync(join(sb.home, trash));
    const healed = await checkDataHealth(ctx);
    assert.equal(healed.recovered_restore, true);
    assert.equal(healed.issues.filter((i) => i.check === 'restore').length, 0);
    assert.ok(existsSync(join(sb.home, 'level-1-hot', 'new.json')), 'the swap was completed');
    await restoreBackup(ctx, { id: m.id, confirm: true, safetyBackup: false });
    assert.ok(!existsSync(join(sb.home, 'level-1-hot', 'new.json')));
    assert.deepEqual(
      readdirSync(sb.home).filter((n) => n.startsWith('.prism-restore')),
      [],
    );
  });

  it('a journal whose steps would move logs/ or leave the target is refused, not run', async () => {
    writeDataset(sb.home, { files: 2 });
    const ctx = appContext(sb, {}, systemClock);
    writeFileSync(join(sb.home, 'logs', 'gateway.log'), 'live log line\n');
    const outside = join(sb.root, 'outside');
    mkdirSync(outside);
    const trash = '.prism-restore-old-backup_x-1';
    for (const steps of [[['logs', `${trash}/logs`]], [['level-1-hot', '../outside/level-1-hot']], [['.prism-restore.journal', `${trash}/j`]]]) {
      writeFileSync(
        join(sb.home, '.prism-restore.journal'),
        JSON.stringify({ backup: 'backup_x', staging: '.prism-restore-backup_x-1', trash, steps, done: 0, state: 'swapping' }),
      );
      const health = await checkDataHealth(ctx);
      assert.equal(health.healthy, false, JSON.stringify(steps));
      assert.ok(health.issues.some((i) => i.check === 'restore'));
      assert.equal(readFileSync(join(sb.home, 'logs', 'gateway.log'), 'utf8'), 'live log line\n');
      assert.ok(existsSync(join(sb.home, 'level-1-hot')));
      assert.deepEqual(readdirSync(outside), []);
    }
  });
});
