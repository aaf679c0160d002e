import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { sha256Hex } from '../../codec/hash.js';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LocalBackend } from '../../backend/index.js';
import { FixedClock, systemClock } from '../../core/clock.js';
import { RepositoryLock, type Manifest } from '../../repo/index.js';
import { chunkMap, flipPackByte, openRepo, packFile, packIds } from '../../testing/damage.js';
import { appContext, hashTree, json, prism, prngBytes, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { backupInfo } from '../backups/backup-info.js';
import type { AppContext } from '../context.js';
import { createBackup } from '../backups/create-backup.js';
import { repairIndex, type RepairIndexReport } from './repair-index.js';
import { restoreBackup } from '../restore/restore-backup.js';
import { verifyBackups } from './verify-backups.js';

const MiB = 1024 * 1024;

describe('backup repair index', () => {
  let sb: Sandbox;
  let clock: FixedClock;
  let ctx: AppContext;
  beforeEach(() => {
    sb = sandbox();
    clock = new FixedClock(new Date('2026-02-07T02:00:15Z'));
    // one thread: every chunk goes through one pack writer, so the pack layout is deterministic
    ctx = appContext(sb, { PRISM_BACKUP_CONCURRENCY: '1' }, clock);
  });
  afterEach(() => sb.cleanup());

  const indexFiles = (): string[] => readdirSync(join(sb.repo, 'index'));

  function flipIndexByte(): string {
    const [name] = indexFiles();
    const file = join(sb.repo, 'index', name!);
    const buf = readFileSync(file);
    buf[buf.length >> 1]! ^= 0xff;
    writeFileSync(file, buf);
    return name!;
  }

  it('bad input: no repository, a bad --lock-wait or a mistyped subcommand gives a coded error and writes nothing', () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['backup', 'repair', 'index'], 7, /ERR_PRISM_NO_REPO.*does not exist/],
      [['backup', 'repair', 'index', '--lock-wait', 'banana'], 2, /ERR_PRISM_ARGS.*--lock-wait "banana" is not a duration/],
      [['backup', 'repair', 'indx'], 2, /ERR_PRISM_ARGS.*did you mean index/],
    ];
    for (const [args, code, msg] of cases) {
      const r = prism(args, sb.env);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
    assert.equal(json<{ error: { code: string } }>(prism(['backup', 'repair', 'index', '--json'], sb.env)).error.code, 'ERR_PRISM_NO_REPO');
    assert.deepEqual(readdirSync(sb.root).sort(), ['home']);
  });

  it('a flipped byte in an index file: commands point at `repair index`, which rebuilds it from the packs with nothing lost', async () => {
    writeDataset(sb.home, { files: 8 });
    writeFileSync(join(sb.home, 'level-1-hot', 'aaa-big.bin'), prngBytes(20 * MiB, 41));
    const a = await createBackup(ctx, { type: 'full' });
    clock.advance(3600_000);
    writeFileSync(join(sb.home, 'level-2-warm', 'new.json'), '{"new":true}');
    const b = await createBackup(ctx, { type: 'incremental' });
    const before = indexFiles();
    const name = flipIndexByte();
    const damagedIndex = readFileSync(join(sb.repo, 'index', name));
    // the repair holds the repository alone: it waits for (here: refuses beside) a reader
    const reader = await RepositoryLock.acquire(new LocalBackend(sb.repo), { kind: 'shared', command: 'prism backup restore', clock: systemClock });
    const locked = prism(['backup', 'repair', 'index'], sb.env);
    await reader.release();
    assert.equal(locked.code, 6, locked.stdout + locked.stderr);
    assert.match(locked.stderr, /^Error \[ERR_PRISM_LOCKED\]/m);
    assert.deepEqual(indexFiles(), before, 'nothing changed');
    assert.ok(readFileSync(join(sb.repo, 'index', name)).equals(damagedIndex));
    for (const args of [
      ['backup', 'verify', '--all'],
      ['backup', 'restore', a.id, '--target', join(sb.root, 'out')],
      ['backup', 'create'],
    ]) {
      const r = prism(args, sb.env);
      assert.equal(r.code, 8, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^Error \\[ERR_PRISM_INDEX_DAMAGED\\] Index file index/${name} is damaged: index checksum mismatch\\.$`, 'm'));
      assert.match(r.stderr, /^ {2}Fix: Rebuild the index from the packs with `prism backup repair index`/m);
    }

    const r = prism(['backup', 'repair', 'index'], sb.env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^Index rebuilt from \d+ pack\(s\): \d+ blob\(s\) indexed in index\/[0-9a-f]{64}$/m);
    assert.match(r.stdout, new RegExp(`^ {2}replaced damaged index file index/${name}: index checksum mismatch$`, 'm'));
    assert.match(r.stdout, /^ {2}Nothing lost/m);
    assert.match(r.stdout, /^Status: ok$/m);
    assert.equal(indexFiles().length, 1, 'one new index file replaces the damaged one');
    assert.ok(!indexFiles().includes(name));
    assert.ok(!readdirSync(join(sb.repo, 'index'), { withFileTypes: true }).some((d) => d.name.startsWith('.tmp-')), 'no temporary file left');
    const v = prism(['backup', 'verify', '--all'], sb.env);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.deepEqual([(await backupInfo(ctx, a.id)).status, (await backupInfo(ctx, b.id)).status], ['completed', 'completed']);
    const out = join(sb.root, 'restored');
    await restoreBackup(ctx, { id: b.id, target: out });
    assert.deepEqual(hashTree(out), hashTree(sb.home));
    // killed after writing the new index but before deleting the damaged one: running it again finishes the job
    writeFileSync(join(sb.repo, 'index', name), damagedIndex);
    assert.equal(prism(['backup', 'verify', '--all'], sb.env).code, 8);
    const rerun = prism(['backup', 'repair', 'index'], sb.env);
    assert.equal(rerun.code, 0, rerun.stdout + rerun.stderr);
    assert.equal(indexFiles().length, 1);
    assert.equal(prism(['backup', 'verify', '--all'], sb.env).code, 0);
    // a repair with nothing damaged changes nothing
    const again = json<RepairIndexReport>(prism(['backup', 'repair', 'index', '--json'], sb.env));
    assert.deepEqual([again.ok, again.damaged_index_files, again.damaged_packs, again.lost_blobs, again.packs_written], [true, [], [], 0, 0]);
  });

  it('a lost index and a pack whose trailer is damaged: what is lost is reported, the backup marked corrupted, the next backup stores it afresh', async () => {
    writeDataset(sb.home, { files: 6 });
    writeFileSync(join(sb.home, 'level-1-hot', 'aaa-big.bin'), prngBytes(20 * MiB, 42));
    const m = await createBackup(ctx, { type: 'full' });
    const bigPack = (await chunkMap(await openRepo(sb), m.tree!)).get('level-1-hot/aaa-big.bin')![0]!.pack;
    flipPackByte(sb, bigPack, 'trailer');
    flipIndexByte();

    const r = prism(['backup', 'repair', 'index'], sb.env);
    assert.equal(r.code, 15, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^ {2}DAMAGED trailer: pack ${bigPack.slice(0, 12)}: the trailer \\(bytes \\d+-\\d+\\) is not valid UTF-8 JSON`, 'm'));
    assert.match(r.stdout, new RegExp(`^ {2}${m.id}: corrupted \\(needs data that was lost\\)$`, 'm'));
    assert.match(r.stdout, /^ {4}damaged: level-1-hot\/aaa-big\.bin$/m);
    assert.match(r.stdout, /^Status: DAMAGED$/m);
    assert.match(r.stderr, /^Error \[ERR_BACKUP_005\] Checksum mismatch: data that backups need could not be recovered/m);
    assert.equal((await backupInfo(ctx, m.id)).status, 'corrupted');
    // every command works again
    assert.equal(prism(['backup', 'list'], sb.env).code, 0);

    // the lost chunks are not indexed: the next backup reads and stores them afresh
    clock.advance(3600_000);
    const next = await createBackup(ctx, { type: 'full' });
    assert.equal(next.status, 'completed');
    assert.ok(next.stats.new_bytes >= 20 * MiB, `the big file is stored again (${next.stats.new_bytes} new bytes)`);
    const out = join(sb.root, 'restored');
    await restoreBackup(ctx, { id: next.id, target: out });
    assert.deepEqual(hashTree(out), hashTree(sb.home));
    // the fresh copies make the old backup whole again
    const v = await verifyBackups(ctx, { all: true, data: { kind: 'all' } });
    assert.deepEqual(
      v.backups.map((x) => [x.id, x.status]),
      [
        [m.id, 'completed'],
        [next.id, 'completed'],
      ],
    );
    assert.equal(v.damaged_packs.length, 0, 'the damaged pack is no longer indexed');
  });

  it('a pack whose trailer is damaged (index intact): its frames are copied into a new pack, verify is clean, prune deletes the damaged one', async () => {
    writeDataset(sb.home, { files: 6 });
    const m: Manifest = await createBackup(ctx, { type: 'full' });
    const [pack] = packIds(sb);
    flipPackByte(sb, pack!, 'trailer');
    assert.equal(prism(['backup', 'verify', '--all'], sb.env).code, 15);

    const report = await repairIndex(ctx);
    assert.equal(report.ok, true);
    assert.equal(report.damaged_packs.length, 1);
    assert.deepEqual([report.damaged_packs[0]!.pack, report.damaged_packs[0]!.part, report.damaged_packs[0]!.blobs_lost], [pack, 'trailer', 0]);
    assert.ok(report.damaged_packs[0]!.blobs_kept > 0);
    assert.equal(report.packs_written, 1);
    const v = prism(['backup', 'verify', '--all'], sb.env);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.equal(v.stdout.trim(), `${m.id}: status: completed, checksum: verified`);
    assert.equal(prism(['backup', 'prune'], sb.env).code, 0);
    // the damaged pack is gone: deleted by prune, or (all its frames copied, in order) written again whole under its own id
    for (const p of packIds(sb)) assert.equal(sha256Hex(readFileSync(packFile(sb, p))), p, `pack ${p} is sound`);
    assert.equal(prism(['backup', 'verify', '--all'], sb.env).code, 0);
  });
});
