import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FixedClock } from '../../core/clock.js';
import { PrismError } from '../../errors/index.js';
import type { Manifest } from '../../repo/index.js';
import { checkBackups, type DataSubset } from '../../snapshot/checker.js';
import { deletePackOf, events, flipByteOf, flipChunkOf, flipPackByte, openRepo, packFile, packIds } from '../../testing/damage.js';
import { appContext, json, prism, prngBytes, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import type { AppContext } from '../context.js';
import { backupInfo } from '../backups/backup-info.js';
import { createBackup } from '../backups/create-backup.js';
import { listBackups } from '../backups/list-backups.js';
import { verifyBackups } from './verify-backups.js';

const MiB = 1024 * 1024;

/** `prism backup verify ARGS` reports exactly `damaged` for `id` and exits with ERR_BACKUP_005. */
function assertVerifyFails(sb: Sandbox, args: string[], id: string, damaged: string[], reason: RegExp): void {
  const r = prism(['backup', 'verify', ...args], sb.env);
  assert.equal(r.code, 15, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^${id}: status: corrupted, checksum: mismatch$`, 'm'));
  assert.match(r.stdout, reason);
  const named = [...r.stdout.matchAll(/^ {2}damaged: (.+)$/gm)].map((x) => x[1]!).sort();
  assert.deepEqual(named, damaged);
  assert.match(r.stderr, /^Error \[ERR_BACKUP_005\] Checksum mismatch/m);
}

/** The manifest says corrupted (list and info) and a high-severity event names the damaged files. */
async function assertMarkedCorrupted(sb: Sandbox, ctx: AppContext, id: string, damaged: string[]): Promise<void> {
  const listed = (await listBackups(ctx)).find((m) => m.id === id)!;
  assert.equal(listed.status, 'corrupted');
  assert.equal(listed.error?.code, 'ERR_BACKUP_005');
  assert.equal((await backupInfo(ctx, id)).status, 'corrupted');
  const ev = events(sb).filter((e) => e.event === 'verify.failed' && e.backup === id);
  assert.equal(ev.length >= 1, true, 'a verify.failed event is written');
  assert.equal(ev.at(-1)!.severity, 'high');
  assert.deepEqual([...(ev.at(-1)!.damaged as string[])].sort(), damaged);
}

describe('backup verify', () => {
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

  /** A data set with a large incompressible file first in walk order (so it fills a pack of its own). */
  async function bigBackup(bigBytes = 20 * MiB): Promise<Manifest> {
    writeDataset(sb.home, { files: 6 });
    writeFileSync(join(sb.home, 'level-1-hot', 'aaa-big.bin'), prngBytes(bigBytes, 21));
    return createBackup(ctx, { type: 'full' });
  }

  /** A full backup and an incremental one an hour later, both holding level-2-warm/shared.bin. */
  async function sharedFileBackups(): Promise<{ a: Manifest; b: Manifest }> {
    writeDataset(sb.home, { files: 6 });
    writeFileSync(join(sb.home, 'level-2-warm', 'shared.bin'), prngBytes(3 * MiB, 31));
    const a = await createBackup(ctx, { type: 'full' });
    clock.advance(3600_000);
    writeFileSync(join(sb.home, 'level-1-hot', 'new.json'), '{"new":true}');
    return { a, b: await createBackup(ctx, { type: 'incremental' }) };
  }

  it('a good backup: status completed, checksum verified, exit 0; --verbose lists each check', async () => {
    writeDataset(sb.home, { files: 6 });
    const m = await createBackup(ctx, { type: 'full' });
    const report = await verifyBackups(ctx, { id: m.id, data: { kind: 'all' } });
    assert.equal(report.ok, true);
    assert.deepEqual(
      report.backups.map((b) => [b.id, b.status, b.checksum, b.ok, b.damaged]),
      [[m.id, 'completed', 'verified', true, []]],
    );
    assert.deepEqual(
      report.backups[0]!.steps.map((s) => [s.name, s.ok]),
      [
        ['manifest', true],
        ['trees', true],
        ['chunks', true],
        ['data', true],
      ],
    );
    assert.match(report.backups[0]!.steps[3]!.detail, /^1 pack\(s\) read, \d+ chunk\(s\) decompressed and re-hashed$/);

    const r = prism(['backup', 'verify', m.id], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `${m.id}: status: completed, checksum: verified`);
    const v = prism(['backup', 'verify', m.id, '--verbose'], sb.env);
    assert.equal(v.code, 0, v.stderr);
    for (const step of ['manifest', 'trees', 'chunks', 'data']) assert.match(v.stdout, new RegExp(`^ {2}\\[ok\\] ${step}: `, 'm'));
    assert.equal((await backupInfo(ctx, m.id)).status, 'completed', 'a good backup stays completed');
    assert.deepEqual(
      events(sb).filter((e) => e.event === 'verify.failed'),
      [],
    );
  });

  it('(a) a flipped byte inside a pack frame: exit 15, the damaged file named, marked corrupted, high event', async () => {
    const m = await bigBackup(6 * MiB);
    const damaged = await flipByteOf(sb, m, 'level-1-hot/aaa-big.bin');
    assert.deepEqual(damaged, ['level-1-hot/aaa-big.bin']);
    assertVerifyFails(sb, [m.id], m.id, damaged, /\[FAIL\] chunks: 1 file\(s\) damaged: .*does not (match its id|decompress)/);
    // as the operator sees it
    const listed = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    assert.deepEqual(
      listed.map((x) => [x.id, x.status]),
      [[m.id, 'corrupted']],
    );
    assert.match(listed[0]!.error!.message, /1 file\(s\) damaged/);
    assert.match(prism(['backup', 'info', m.id], sb.env).stdout, /^Status: corrupted$/m);
    await assertMarkedCorrupted(sb, ctx, m.id, damaged);
    const line = readFileSync(join(sb.home, 'logs', 'events.log'), 'utf8')
      .trim()
      .split('\n')
      .at(-1)!;
    assert.match(line, /"severity":"high","event":"verify\.failed"/);
  });

  it('(a) the other files of a damaged backup still read back: only the damaged one is named', async () => {
    const m = await bigBackup(6 * MiB);
    const damaged = await flipByteOf(sb, m, 'level-1-hot/aaa-big.bin');
    const report = await verifyBackups(ctx, { id: m.id, data: { kind: 'all' } });
    assert.equal(report.ok, false);
    assert.deepEqual(report.backups[0]!.damaged, damaged);
    const steps = Object.fromEntries(report.backups[0]!.steps.map((s) => [s.name, s]));
    assert.equal(steps.trees!.ok, true, 'trees are intact');
    assert.equal(steps.chunks!.ok, false);
    assert.match(steps.chunks!.detail, /^1 file\(s\) damaged: /);
    await assertMarkedCorrupted(sb, ctx, m.id, damaged);
  });

  it('(b) a deleted pack file: exit 15, every file with data in it named as missing', async () => {
    const m = await bigBackup();
    const damaged = await deletePackOf(sb, m, 'level-1-hot/aaa-big.bin');
    assert.ok(damaged.includes('level-1-hot/aaa-big.bin'));
    assert.ok(!damaged.includes('config/gateway.json'), 'files in other packs are not blamed');
    assertVerifyFails(sb, [m.id], m.id, damaged, /pack [0-9a-f]{12} is missing/);
    await assertMarkedCorrupted(sb, ctx, m.id, damaged);
  });

  it('(b) a deleted pack that holds the trees: exit 15, the pack named, and no check claims to have passed', async () => {
    writeDataset(sb.home, { files: 6 });
    const m = await createBackup(ctx, { type: 'full' });
    const [pack, ...more] = readdirSync(join(sb.repo, 'data'), { recursive: true })
      .map(String)
      .filter((n) => n.includes('/'));
    assert.deepEqual(more, [], 'a small backup is one pack: trees and data');
    rmSync(join(sb.repo, 'data', pack!));
    const r = prism(['backup', 'verify', m.id], sb.env);
    assert.equal(r.code, 15, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${m.id}: status: corrupted, checksum: mismatch$`, 'm'));
    assert.match(r.stdout, new RegExp(`^ {2}\\[FAIL\\] trees: Pack ${pack!.slice(3, 15)} is missing from the repository\\.$`, 'm'));
    await assertMarkedCorrupted(sb, ctx, m.id, []);
    // Nothing below the root tree could be read, so the chunk and data checks did not happen:
    // they must not report "every chunk indexed, its pack present" as passed.
    const chunks = r.stdout.split('\n').find((l) => l.includes('] chunks: '))!;
    assert.doesNotMatch(chunks, /\[ok\] chunks: every chunk indexed, its pack present/);
  });

  it('pack damage outside the frames (magic, trailer, last byte): exit 15, the pack and the damaged part named', async () => {
    writeDataset(sb.home, { files: 6 });
    const m = await createBackup(ctx, { type: 'full' });
    const [pack, ...more] = packIds(sb);
    assert.deepEqual(more, [], 'a small backup is one pack: trees and data');
    const file = packFile(sb, pack!);
    const original = readFileSync(file);
    for (const [where, part, detail] of [
      ['magic', 'header', /header magic \(bytes 0-7\)/],
      ['trailer', 'trailer', /the trailer \(bytes \d+-\d+\)/],
      ['last', 'end', /end magic \(bytes \d+-\d+\)/],
    ] as const) {
      flipPackByte(sb, pack!, where);
      for (const args of [['--all'], [m.id]]) {
        const r = prism(['backup', 'verify', ...args], sb.env);
        assert.equal(r.code, 15, `${where} ${args}: ${r.stdout}${r.stderr}`);
        const line = r.stdout.split('\n').find((l) => l.startsWith('DAMAGED '));
        assert.ok(line?.startsWith(`DAMAGED ${part}: pack ${pack!.slice(0, 12)}: `), `${where}: ${r.stdout}`);
        assert.match(line!, detail);
        assert.match(
          r.stderr,
          /^Error \[ERR_BACKUP_005\] Checksum mismatch: 1 pack\(s\) are damaged outside the backups' chunks; run `prism backup repair index`/m,
        );
      }
      const report = await verifyBackups(ctx, { all: true, data: { kind: 'all' } });
      assert.equal(report.ok, false);
      assert.deepEqual(
        report.damaged_packs.map((d) => [d.pack, d.part]),
        [[pack, part]],
      );
      writeFileSync(file, original);
    }
    const again = prism(['backup', 'verify', '--all'], sb.env);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(again.stdout.trim(), `${m.id}: status: completed, checksum: verified`);
  });

  it('(c) a truncated index file: ERR_PRISM_INDEX_DAMAGED (exit 8) naming the index file and `repair index`; nothing is verified or marked', async () => {
    writeDataset(sb.home, { files: 6 });
    const m = await createBackup(ctx, { type: 'full' });
    const [name] = readdirSync(join(sb.repo, 'index'));
    const file = join(sb.repo, 'index', name!);
    truncateSync(file, statSync(file).size >> 1);
    for (const args of [[m.id], ['--all']]) {
      const r = prism(['backup', 'verify', ...args], sb.env);
      assert.equal(r.code, 8, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`^Error \\[ERR_PRISM_INDEX_DAMAGED\\] Index file index/${name} is damaged: index checksum mismatch\\.$`, 'm'));
      assert.match(r.stderr, /^ {2}Fix: Rebuild the index from the packs with `prism backup repair index`/m);
      assert.doesNotMatch(r.stdout, /verified/);
    }
    await assert.rejects(
      verifyBackups(ctx, { id: m.id, data: { kind: 'all' } }),
      (e: PrismError) => e.id === 'ERR_PRISM_INDEX_DAMAGED' && e.exitCode === 8 && e.message.includes(`index/${name}`),
    );
    // the verification did not run, so the backup keeps its status
    assert.equal((await backupInfo(ctx, m.id)).status, 'completed');
  });

  it('(d) a missing manifest: verify <id> is ERR_PRISM_NOT_FOUND (exit 4); --all verifies the others', async () => {
    writeDataset(sb.home, { files: 4 });
    const a = await createBackup(ctx, { type: 'full' });
    clock.advance(3600_000);
    const b = await createBackup(ctx, { type: 'incremental' });
    rmSync(join(sb.repo, 'snapshots', `${a.id}.json`));
    const r = prism(['backup', 'verify', a.id], sb.env);
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stderr, new RegExp(`^Error \\[ERR_PRISM_NOT_FOUND\\] Backup ${a.id} not found`, 'm'));
    await assert.rejects(verifyBackups(ctx, { id: a.id, data: { kind: 'all' } }), (e: PrismError) => e.code === 'BACKUP_NOT_FOUND');
    const all = prism(['backup', 'verify', '--all'], sb.env);
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout.trim(), `${b.id}: status: completed, checksum: verified`);
  });

  it('a failed attempt holds no data to verify: ERR_PRISM_NOT_FOUND; --all skips it', async () => {
    writeDataset(sb.home, { files: 2 });
    await assert.rejects(createBackup(ctx, { type: 'incremental' }));
    const [failed] = await listBackups(ctx);
    assert.equal(failed!.status, 'failed');
    await assert.rejects(
      verifyBackups(ctx, { id: failed!.id, data: { kind: 'all' } }),
      (e: PrismError) => e.id === 'ERR_PRISM_NOT_FOUND' && /holds no data/.test(e.message),
    );
    const report = await verifyBackups(ctx, { all: true, data: { kind: 'all' } });
    assert.deepEqual(report, { ok: true, backups: [], damaged_manifests: [], damaged_packs: [], also_corrupted: [], pg_archive: null, binlog_archive: null });
    assert.equal((await backupInfo(ctx, failed!.id)).status, 'failed', 'a failed attempt is not turned into corrupted');
  });

  it('(e) --no-read-data misses a flipped data byte, --read-data-subset 1/1 and 100% read everything', async () => {
    const m = await bigBackup(6 * MiB);
    const damaged = await flipByteOf(sb, m, 'level-1-hot/aaa-big.bin');
    const quick = prism(['backup', 'verify', m.id, '--no-read-data', '--verbose'], sb.env);
    assert.equal(quick.code, 0, quick.stderr);
    assert.match(quick.stdout, new RegExp(`^${m.id}: status: completed, checksum: verified$`, 'm'));
    assert.match(quick.stdout, /^ {2}\[ok\] data: not read \(structure only\)$/m);
    assert.equal((await backupInfo(ctx, m.id)).status, 'completed');

    const pct = await verifyBackups(ctx, { id: m.id, data: { kind: 'percent', percent: 100 } });
    assert.deepEqual(pct.backups[0]!.damaged, damaged);
    assert.match(pct.backups[0]!.steps[3]!.detail, /^1 pack\(s\) read, .* \(subset\)$/);

    // the first read that found the damage dropped the copy from the index
    assertVerifyFails(sb, [m.id, '--read-data-subset', '1/1'], m.id, damaged, /was found damaged and dropped from the index/);
    await assertMarkedCorrupted(sb, ctx, m.id, damaged);
  });

  it('(e) --no-read-data still detects a deleted pack', async () => {
    const m = await bigBackup();
    const damaged = await deletePackOf(sb, m, 'level-1-hot/aaa-big.bin');
    assertVerifyFails(sb, [m.id, '--no-read-data'], m.id, damaged, /pack [0-9a-f]{12} is missing/);
    await assertMarkedCorrupted(sb, ctx, m.id, damaged);
  });

  it('a structure-only pass over a corrupted backup does not report it as completed', async () => {
    const m = await bigBackup(6 * MiB);
    await flipByteOf(sb, m, 'level-1-hot/aaa-big.bin');
    assert.equal((await verifyBackups(ctx, { id: m.id, data: { kind: 'all' } })).ok, false);
    const quick = await verifyBackups(ctx, { id: m.id, data: { kind: 'none' } });
    const stored = (await backupInfo(ctx, m.id)).status;
    assert.equal(stored, 'corrupted', 'a check that reads no data cannot clear the mark');
    // The report must agree with what list/info show; it must not claim "completed" for a backup still marked corrupted.
    assert.equal(quick.backups[0]!.status, stored);
  });

  it('data subsets: the parts n/t of a partition read every pack exactly once; a percent subset is random per pack', async () => {
    const m = await bigBackup(40 * MiB);
    const damaged = await flipByteOf(sb, m, 'level-1-hot/aaa-big.bin');
    const repo = await openRepo(sb);
    const packs = new Set([...repo.index.entries()].map((e) => e.pack)).size;
    assert.ok(packs >= 3, `several packs (${packs})`);
    const packsRead = async (data: DataSubset, random?: () => number) => {
      const [c] = await checkBackups({ repo: await openRepo(sb), manifests: [m], data, ...(random ? { random } : {}) });
      const detail = c!.steps[3]!.detail;
      return { n: detail === 'not read (structure only)' ? 0 : Number(/^(\d+) pack\(s\) read/.exec(detail)![1]), damaged: c!.damaged };
    };
    const all = await packsRead({ kind: 'all' });
    assert.equal(all.n, packs);
    assert.deepEqual(all.damaged, damaged);
    const parts = await Promise.all([1, 2, 3].map((n) => packsRead({ kind: 'part', n, of: 3 })));
    assert.equal(
      parts.reduce((s, p) => s + p.n, 0),
      packs,
      'the three parts together read every pack once',
    );
    assert.equal(parts.filter((p) => p.damaged.length > 0).length, 1, 'exactly one part finds the damage');
    assert.deepEqual((await packsRead({ kind: 'percent', percent: 10 }, () => 0.999)).n, 1, 'a percentage always reads at least one pack');
    assert.deepEqual(await packsRead({ kind: 'percent', percent: 10 }, () => 0.05), { n: packs, damaged });
    assert.deepEqual(await packsRead({ kind: 'none' }), { n: 0, damaged: [] });
  });

  it('(f) --all with shared chunks: only the backup holding the damaged unique file is corrupted', async () => {
    writeDataset(sb.home, { files: 6 });
    writeFileSync(join(sb.home, 'level-2-warm', 'shared.bin'), prngBytes(3 * MiB, 31));
    const a = await createBackup(ctx, { type: 'full' });
    clock.advance(3600_000);
    writeFileSync(join(sb.home, 'level-3-cold', 'unique.bin'), prngBytes(3 * MiB, 32));
    const b = await createBackup(ctx, { type: 'incremental' });
    assert.equal(b.stats.files_read, 1, 'the incremental shares every other chunk with the full backup');
    const damaged = await flipByteOf(sb, b, 'level-3-cold/unique.bin');
    assert.deepEqual(damaged, ['level-3-cold/unique.bin']);

    const r = prism(['backup', 'verify', '--all'], sb.env);
    assert.equal(r.code, 15, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${a.id}: status: completed, checksum: verified$`, 'm'));
    assert.match(r.stdout, new RegExp(`^${b.id}: status: corrupted, checksum: mismatch$`, 'm'));
    assert.deepEqual(
      [...r.stdout.matchAll(/^ {2}damaged: (.+)$/gm)].map((x) => x[1]),
      ['level-3-cold/unique.bin'],
    );
    assert.deepEqual(
      (await listBackups(ctx)).map((x) => [x.id, x.status]),
      [
        [b.id, 'corrupted'],
        [a.id, 'completed'],
      ],
    );
    assert.deepEqual(
      events(sb)
        .filter((e) => e.event === 'verify.failed')
        .map((e) => e.backup),
      [b.id],
    );
  });

  it('(f) verify of one backup that finds a damaged chunk also marks the other backups that need it', async () => {
    const { a, b } = await sharedFileBackups();
    await flipByteOf(sb, a, 'level-2-warm/shared.bin');
    const r = prism(['backup', 'verify', a.id], sb.env);
    assert.equal(r.code, 15, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${b.id}: status: corrupted \\(it shares the damaged data\\)$`, 'm'));
    assert.deepEqual(
      (await listBackups(ctx)).map((x) => [x.id, x.status]),
      [
        [b.id, 'corrupted'],
        [a.id, 'corrupted'],
      ],
    );
    assert.ok(
      events(sb).some((e) => e.event === 'verify.failed' && e.backup === b.id),
      'an event names the other backup too',
    );
  });

  it('(f) a damaged chunk shared by two backups marks both; the next backup stores a fresh copy, and verifying again restores completed', async () => {
    const { a, b } = await sharedFileBackups();
    const { files: damaged, chunk } = await flipChunkOf(sb, a, 'level-2-warm/shared.bin');

    const report = await verifyBackups(ctx, { all: true, data: { kind: 'all' } });
    assert.equal(report.ok, false);
    assert.deepEqual(
      report.backups.map((x) => [x.id, x.status, x.damaged]),
      [
        [a.id, 'corrupted', damaged],
        [b.id, 'corrupted', damaged],
      ],
    );
    assert.deepEqual(
      (await listBackups(ctx)).map((x) => x.status),
      ['corrupted', 'corrupted'],
    );

    // the damaged copy left the index: the next backup stores the chunk afresh instead of pointing at it
    clock.advance(3600_000);
    const c = await createBackup(ctx, { type: 'full' });
    const fresh = (await openRepo(sb)).index.get(chunk.id);
    assert.ok(fresh && fresh.pack !== chunk.pack, 'a fresh copy of the damaged chunk is stored in a new pack');
    assert.ok(c.stats.new_bytes >= chunk.blobLength);
    const again = await verifyBackups(ctx, { all: true, data: { kind: 'all' } });
    assert.equal(again.ok, true);
    assert.deepEqual(
      again.backups.map((x) => x.status),
      ['completed', 'completed', 'completed'],
    );
    assert.deepEqual(
      (await listBackups(ctx)).map((x) => [x.status, x.error]),
      [
        ['completed', null],
        ['completed', null],
        ['completed', null],
      ],
    );
  });
});
