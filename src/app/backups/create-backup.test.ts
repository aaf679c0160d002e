import assert from 'node:assert/strict';
import { appendFileSync, chmodSync, mkdirSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FixedClock } from '../../core/clock.js';
import { PrismError } from '../../errors/index.js';
import { supersedeBlobs } from '../../repo/index.js';
import { assertBackupMatches } from '../../testing/backup-matches.js';
import { openRepo } from '../../testing/damage.js';
import { appContext, prngBytes, readBackTree, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { backupInfo } from './backup-info.js';
import { createBackup } from './create-backup.js';
import { listBackups } from './list-backups.js';

describe('createBackup', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox();
  });
  afterEach(() => sb.cleanup());

  it('stores a full backup whose every file reads back identical, excluding logs and temp', async () => {
    const n = writeDataset(sb.home, { files: 30 });
    const m = await createBackup(appContext(sb), { type: 'full', comment: 'Pre-upgrade backup v2.5 -> v3.0' });
    assert.equal(m.status, 'completed');
    assert.match(m.id, /^backup_20260207_\d{6}_full$/);
    assert.equal(m.trigger, 'manual');
    assert.equal(m.comment, 'Pre-upgrade backup v2.5 -> v3.0');
    assert.equal(m.stats.files, n);
    assert.equal(m.stats.files_read, n);
    assert.ok(m.stats.stored_bytes > 0 && m.stats.stored_bytes < m.stats.original_bytes * 0.5, 'text data compresses');
    assert.equal(m.checksum, `sha256:${m.tree}`);
    await assertBackupMatches(sb, m.tree!);
    const back = await readBackTree(await openRepo(sb), m.tree!);
    assert.ok(![...back.keys()].some((p) => p.startsWith('logs') || p.startsWith('temp')));
  });

  it('keeps metadata: mode, mtime, symlinks and empty directories', async () => {
    writeDataset(sb.home, { files: 3 });
    const f = join(sb.home, 'level-1-hot', 'script.sh');
    writeFileSync(f, '#!/bin/sh\necho hi\n');
    chmodSync(f, 0o750);
    utimesSync(f, new Date('2025-01-02T03:04:05Z'), new Date('2025-01-02T03:04:05Z'));
    symlinkSync('script.sh', join(sb.home, 'level-1-hot', 'link'));
    mkdirSync(join(sb.home, 'level-3-cold', 'empty', 'deeper'), { recursive: true });
    const m = await createBackup(appContext(sb), { type: 'full' });
    const back = await readBackTree(await openRepo(sb), m.tree!);
    const script = back.get('level-1-hot/script.sh')!.node;
    assert.equal(script.mode, 0o750);
    assert.equal(script.mtime, String(Date.parse('2025-01-02T03:04:05Z') * 1_000_000));
    assert.equal(back.get('level-1-hot/link')!.node.type, 'symlink');
    assert.equal(back.get('level-1-hot/link')!.node.target, 'script.sh');
    assert.equal(back.get('level-3-cold/empty/deeper')!.node.type, 'dir');
    assert.equal(m.stats.symlinks, 1);
  });

  it('incremental re-reads only changed files and still references a complete tree', async () => {
    writeDataset(sb.home, { files: 20 });
    const ctx = appContext(sb);
    const full = await createBackup(ctx, { type: 'full' });
    const noop = await createBackup(ctx, { type: 'incremental' });
    assert.equal(noop.parent, full.id);
    assert.equal(noop.stats.files_read, 0);
    assert.equal(noop.stats.new_blobs, 0);
    assert.equal(noop.tree, full.tree, 'nothing changed: same root tree');
    appendFileSync(join(sb.home, 'level-2-warm', 'shard-1', 'doc-1.json'), '{"appended":true}\n');
    writeFileSync(join(sb.home, 'level-1-hot', 'new.json'), '{"new":1}');
    rmSync(join(sb.home, 'level-3-cold', 'shard-2', 'doc-2.json'));
    const inc = await createBackup(ctx, { type: 'incremental', comment: 'Daily incremental' });
    assert.equal(inc.parent, noop.id);
    assert.equal(inc.stats.files_read, 2);
    assert.equal(inc.stats.files, full.stats.files);
    await assertBackupMatches(sb, inc.tree!);
  });

  it('an incremental settles unchanged directories while planning: same stats, a directory whose mode alone changed is stored anew', async () => {
    writeDataset(sb.home, { files: 20 });
    const ctx = appContext(sb);
    const full = await createBackup(ctx, { type: 'full' });
    const noop = await createBackup(ctx, { type: 'incremental' });
    assert.equal(noop.tree, full.tree);
    assert.equal(noop.stats.original_bytes, full.stats.original_bytes);
    assert.equal(noop.stats.stored_bytes, full.stats.stored_bytes);
    assert.equal(noop.stats.packs_written, 0);
    // no file changed, but a directory's mode did: its tree (and those above it) are new blobs
    const shard = join(sb.home, 'level-3-cold', 'shard-1');
    chmodSync(shard, 0o750);
    // and a file changed in another directory, which stays open until it is read
    appendFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), '{"appended":true}\n');
    const inc = await createBackup(ctx, { type: 'incremental' });
    assert.notEqual(inc.tree, full.tree);
    assert.equal(inc.stats.files_read, 1);
    assert.equal(inc.stats.files, full.stats.files);
    assert.ok(inc.stats.new_blobs >= 1);
    await assertBackupMatches(sb, inc.tree!);
    const back = await readBackTree(await openRepo(sb), inc.tree!);
    assert.equal(back.get('level-3-cold/shard-1')!.node.mode & 0o777, 0o750);
    // the next no-change backup finds every tree stored
    const again = await createBackup(ctx, { type: 'incremental' });
    assert.equal(again.tree, inc.tree);
    assert.equal(again.stats.new_blobs, 0);
    assert.equal(again.stats.stored_bytes, inc.stats.stored_bytes);
  });

  it('an incremental does not build on a manifest dated in the future (one injected into the repository)', async () => {
    writeDataset(sb.home, { files: 6 });
    const ctx = appContext(sb);
    const full = await createBackup(ctx, { type: 'full' });
    // an attacker's manifest: the genuine one's tree minus nothing, dated next year, claiming to be the newest
    const repo = await openRepo(sb);
    await repo.saveManifest({ ...full, id: 'backup_20270101_000000_full', started_at: '2027-01-01T00:00:00.000Z', finished_at: '2027-01-01T00:00:01.000Z' });
    const inc = await createBackup(ctx, { type: 'incremental' });
    assert.equal(inc.parent, full.id);
  });

  it('a second full backup reads every file but stores no new data', async () => {
    writeDataset(sb.home, { files: 10 });
    const ctx = appContext(sb);
    await createBackup(ctx, { type: 'full' });
    const again = await createBackup(ctx, { type: 'full' });
    assert.equal(again.stats.files_read, again.stats.files);
    assert.equal(again.stats.new_blobs, 0);
    assert.equal(again.parent, null);
    assert.notEqual(again.id, (await listBackups(ctx))[1]!.id, 'two backups in the same second get distinct ids');
    assert.match(again.id, /_full_2$/);
  });

  it('chunks large files (streamed past the read buffer) and dedups repeated content', async () => {
    const big = prngBytes(20 * 1024 * 1024, 7);
    writeFileSync(join(sb.home, 'level-3-cold', 'big.bin'), big);
    writeFileSync(join(sb.home, 'level-3-cold', 'big-copy.bin'), big);
    const ctx = appContext(sb, { PRISM_BACKUP_CONCURRENCY: '2' });
    const m = await createBackup(ctx, { type: 'full' });
    const back = await readBackTree(await openRepo(sb), m.tree!);
    const node = back.get('level-3-cold/big.bin')!.node;
    assert.ok(node.content!.length > 5, 'cut into many chunks');
    assert.deepEqual(back.get('level-3-cold/big-copy.bin')!.node.content, node.content);
    assert.ok(m.stats.new_bytes <= big.length, 'the copy adds nothing');
    await assertBackupMatches(sb, m.tree!);
  });

  it('incremental without a full backup fails with a pointer to --type full and is recorded', async () => {
    writeDataset(sb.home, { files: 2 });
    const ctx = appContext(sb);
    await assert.rejects(createBackup(ctx, { type: 'incremental' }), (e: PrismError) => e.code === 'NO_FULL_BACKUP' && /--type full/.test(e.message));
    const [failed] = await listBackups(ctx);
    assert.equal(failed!.status, 'failed');
    assert.equal(failed!.error!.code, 'ERR_PRISM_NO_FULL');
    assert.equal(failed!.tree, null);
  });

  it('a missing source directory is ERR_BACKUP_003, recorded, with earlier backups intact', async () => {
    writeDataset(sb.home, { files: 2 });
    const ctx = appContext(sb);
    const ok = await createBackup(ctx, { type: 'full' });
    rmSync(join(sb.home, 'level-2-warm'), { recursive: true });
    await assert.rejects(
      createBackup(ctx, { type: 'full' }),
      (e: PrismError) => e.code === 'SOURCE_NOT_FOUND' && e.id === 'ERR_BACKUP_003' && /level-2-warm/.test(e.message),
    );
    const list = await listBackups(ctx);
    assert.equal(list[0]!.status, 'failed');
    assert.equal(list[0]!.error!.code, 'ERR_BACKUP_003');
    assert.equal((await backupInfo(ctx, ok.id)).status, 'completed');
    const back = await readBackTree(await openRepo(sb), ok.tree!);
    assert.ok(back.has('level-2-warm/shard-1/doc-1.json'), 'the earlier backup still reads back');
  });

  it('a missing PRISM_HOME creates no repository', async () => {
    rmSync(sb.home, { recursive: true });
    await assert.rejects(createBackup(appContext(sb), { type: 'full' }), (e: PrismError) => e.id === 'ERR_BACKUP_003');
    assert.throws(() => readdirSync(sb.repo), /ENOENT/);
  });

  it('a compressor failure is ERR_BACKUP_004 and leaves no unfinished pack', async () => {
    writeDataset(sb.home, { files: 5 });
    const ctx = appContext(sb);
    const broken = {
      ...ctx,
      config: { ...ctx.config, backup: { ...ctx.config.backup, compression: { enabled: true, algorithm: 'gzip' as const, level: 42 } } },
    };
    await assert.rejects(createBackup(broken, { type: 'full' }), (e: PrismError) => e.id === 'ERR_BACKUP_004');
    const leftovers = readdirSync(sb.repo, { recursive: true }).filter((n) => String(n).includes('.tmp-'));
    assert.deepEqual(leftovers, []);
    assert.equal((await listBackups(ctx))[0]!.error!.code, 'ERR_BACKUP_004');
  });

  it('an incremental re-reads an unchanged file whose chunk the index no longer holds, and stores it afresh', async () => {
    writeDataset(sb.home, { files: 6 });
    writeFileSync(join(sb.home, 'level-3-cold', 'big.bin'), prngBytes(3 * 1024 * 1024, 9));
    const clock = new FixedClock(new Date('2026-02-07T02:00:15Z'));
    const ctx = appContext(sb, {}, clock);
    const full = await createBackup(ctx, { type: 'full' });
    const repo = await openRepo(sb);
    const lost = (await readBackTree(repo, full.tree!)).get('level-3-cold/big.bin')!.node.content![0]!;
    await supersedeBlobs(repo, [], new Set([lost])); // as a repair leaves it: a damaged copy dropped
    clock.advance(3600_000);
    const inc = await createBackup(ctx, { type: 'incremental' });
    assert.equal(inc.parent, full.id);
    assert.equal(inc.stats.files_read, 1, 'only the file that lost a chunk is read again');
    assert.ok((await openRepo(sb)).index.hasHex(lost), 'the lost chunk is stored afresh');
    await assertBackupMatches(sb, inc.tree!);
  });

  it('refuses when backups are disabled', async () => {
    writeDataset(sb.home, { files: 1 });
    mkdirSync(join(sb.home, 'config'), { recursive: true });
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { enabled: false } }));
    await assert.rejects(createBackup(appContext(sb), { type: 'full' }), (e: PrismError) => e.code === 'BACKUP_DISABLED');
  });
});
