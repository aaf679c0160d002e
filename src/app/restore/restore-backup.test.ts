import assert from 'node:assert/strict';
import {
  appendFileSync,
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LocalBackend } from '../../backend/index.js';
import { sha256Hex } from '../../codec/hash.js';
import { FrameCompressor } from '../../codec/compress.js';
import { FixedClock, systemClock } from '../../core/clock.js';
import type { PrismError } from '../../errors/index.js';
import { BLOB_TYPE, Repository, encodeTree, type Manifest, type TreeNode } from '../../repo/index.js';
import { decodeTrailer } from '../../repo/pack-format.js';
import { appContext, hashTree, prng, prngBytes, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { flipChunkOf, openRepo } from '../../testing/damage.js';
import { backupInfo } from '../backups/backup-info.js';
import { createBackup } from '../backups/create-backup.js';
import { checkDataHealth } from '../integrity/health-check.js';
import { listBackups } from '../backups/list-backups.js';
import { restoreBackup } from './restore-backup.js';
import { verifyBackups } from '../integrity/verify-backups.js';
import { pidFile } from '../monitoring/service-state.js';

/** path → "type:mode:mtimeMs:sha" for everything under dir (excluding logs/ and temp/ at the top). */
function snapshotDir(dir: string, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    if (!prefix && (name === 'logs' || name === 'temp' || name === 'prism.pid' || name.startsWith('.prism-restore'))) continue;
    const rel = prefix ? `${prefix}/${name}` : name;
    const full = join(dir, name);
    const st = lstatSync(full);
    if (st.isSymbolicLink()) out.set(rel, `link:${readlinkSync(full)}`);
    else if (st.isDirectory()) {
      out.set(rel, `dir:${(st.mode & 0o7777).toString(8)}`);
      for (const [p, v] of snapshotDir(full, rel)) out.set(p, v);
    } else out.set(rel, `file:${(st.mode & 0o7777).toString(8)}:${Math.round(st.mtimeMs)}:${sha256Hex(readFileSync(full))}`);
  }
  return out;
}

/** A copy of backup `real` whose root tree also holds `extra` top-level entries (as a crafted repository could). */
async function withExtraTopLevel(sb: Sandbox, real: Manifest, id: string, extra: (store: (nodes: TreeNode[]) => string) => TreeNode[]): Promise<Manifest> {
  const repo = await Repository.open(new LocalBackend(sb.repo), new FixedClock(new Date()));
  await repo.loadIndex();
  const writer = repo.packWriter(new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 3 }));
  const store = (nodes: TreeNode[]): string => {
    const data = encodeTree(nodes);
    const tid = sha256Hex(data);
    writer.add(BLOB_TYPE.tree, tid, data);
    return tid;
  };
  const tree = store([...(await repo.readTree(real.tree!)).nodes, ...extra(store)]);
  await repo.writeIndex(await writer.finish());
  const m: Manifest = { ...real, id, tree, checksum: `sha256:${tree}`, started_at: '2030-01-01T00:00:00.000Z' };
  await repo.saveManifest(m);
  return m;
}

const emptyFile = (name: string): TreeNode => ({
  name,
  type: 'file',
  mode: 0o644,
  uid: 0,
  gid: 0,
  mtime: '1700000000000000000',
  ctime: '0',
  inode: '0',
  size: 0,
  content: [],
});
const dirOf = (name: string, subtree: string): TreeNode => ({
  name,
  type: 'dir',
  mode: 0o755,
  uid: 0,
  gid: 0,
  mtime: '1700000000000000000',
  ctime: '0',
  inode: '0',
  subtree,
});

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
        const frame = decodeTrailer(bytes).frames.find((f) => f.b.every(([type]) => type === BLOB_TYPE.data));
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

  it('refuses crafted trees: "..", "/" in names, and a name listed twice (symlink + directory)', async () => {
    writeDataset(sb.home, { files: 1 });
    const ctx = appContext(sb);
    const real = await createBackup(ctx, { type: 'full' });
    const repo = await Repository.open(new LocalBackend(sb.repo), new FixedClock(new Date()));
    await repo.loadIndex();
    const outside = join(sb.root, 'outside');
    mkdirSync(outside);
    const node = (name: string, extra: Partial<TreeNode>): TreeNode => ({
      name,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: '0',
      ctime: '0',
      inode: '0',
      size: 0,
      content: [],
      ...extra,
    });
    const writer = repo.packWriter(new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 3 }));
    const store = (nodes: TreeNode[], sorted = true): string => {
      const data = sorted ? encodeTree(nodes) : Buffer.from(JSON.stringify({ nodes }));
      const id = sha256Hex(data);
      writer.add(BLOB_TYPE.tree, id, data);
      return id;
    };
    const inner = store([node('x', {})]);
    const crafted = [
      store([node('..', { type: 'dir', subtree: inner })]),
      store([node('a/../../b', {})]),
      store([node('a', { type: 'dir', subtree: inner }), node('a', { type: 'symlink', target: outside })], false),
    ];
    await repo.writeIndex(await writer.finish());
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
