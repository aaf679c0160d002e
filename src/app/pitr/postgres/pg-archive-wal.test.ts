import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { systemClock } from '../../../core/clock.js';
import { PrismError } from '../../../errors/index.js';
import { appContext, prngBytes, sandbox, writeDataset, type Sandbox } from '../../../testing/fixtures.js';
import { openRepository, type AppContext } from '../../context.js';
import { createBackup } from '../../backups/create-backup.js';
import { archiveWal, endRestore, listWal, nextSegment, prefetchWal, pushLanes, pushReadyWal, restoreWal } from './pg-archive-wal.js';
import {
  archivedAhead,
  formatMark,
  parseMark,
  RACY_MS,
  servePrefetched,
  spoolArea,
  stableIdentity,
  walSpoolSettings,
  writeMark,
  type WalSpoolSettings,
} from './wal-spool.js';
import { pruneRepository } from '../../maintenance/prune-command.js';

describe('WAL archive in the repository (locks, dedup, prune)', () => {
  let sb: Sandbox;
  let ctx: AppContext;
  beforeEach(() => {
    sb = sandbox();
    ctx = appContext(sb, {}, systemClock);
  });
  afterEach(() => sb.cleanup());

  const segment = (name: string, seed: number): string => {
    const p = join(sb.root, name);
    // 3 MiB the same in every segment, 1 MiB of its own
    writeFileSync(p, Buffer.concat([prngBytes(3 << 20, 99), prngBytes(1 << 20, seed)]));
    return p;
  };

  it('archives while a backup holds its lock, shares chunks, and survives prune and cleanup of the file backups', async () => {
    writeDataset(sb.home, { files: 6 });
    await createBackup(ctx, { type: 'full' });
    const repo = await openRepository(ctx);
    const backupLock = await repo.lock('backup', 'a running backup');
    try {
      const a = await archiveWal(ctx, segment('000000010000000000000001', 1));
      assert.equal(a.stored, 'new');
      assert.ok(a.new_bytes > 0);
      // the common part is stored once
      const b = await archiveWal(ctx, segment('000000010000000000000002', 2));
      assert.ok(b.new_bytes < a.new_bytes, `${b.new_bytes} < ${a.new_bytes}`);
    } finally {
      await backupLock.release();
    }
    const report = await pruneRepository(ctx, {});
    assert.equal(report.unusedPacks.length + report.repackPacks.length, 0);
    const out = join(sb.root, 'fetched');
    await restoreWal(ctx, '000000010000000000000002', out);
    assert.deepEqual(readFileSync(out), readFileSync(join(sb.root, '000000010000000000000002')));
    assert.deepEqual(
      (await listWal(ctx)).wal.map((w) => w.name),
      ['000000010000000000000001', '000000010000000000000002'],
    );
  });

  it('fails (so PostgreSQL retries) while prune holds the exclusive lock, and a damaged record stops prune', async () => {
    const seg = segment('000000010000000000000003', 3);
    await archiveWal(ctx, seg);
    const repo = await openRepository(ctx);
    const exclusive = await repo.lock('exclusive', 'prism backup prune');
    try {
      await assert.rejects(archiveWal(ctx, segment('000000010000000000000004', 4)), (e: PrismError) => e.code === 'REPO_LOCKED');
    } finally {
      await exclusive.release();
    }
    assert.deepEqual(
      (await listWal(ctx)).wal.map((w) => w.name),
      ['000000010000000000000003'],
    );
    writeFileSync(join(sb.repo, 'pg', 'wal', '000000010000000000000003.json'), '{"format":1,');
    await assert.rejects(pruneRepository(ctx, {}), (e: PrismError) => e.code === 'REPO_CORRUPT' && /not valid JSON/.test(e.message));
  });
});

describe('WAL spool: the background push and the fetch ahead', () => {
  let sb: Sandbox;
  let ctx: AppContext;
  let spool: WalSpoolSettings;
  let walDir: string;
  beforeEach(() => {
    sb = sandbox();
    ctx = appContext(sb, {}, systemClock);
    spool = { ...walSpoolSettings(ctx), parallel: 2 };
    walDir = join(sb.root, 'pg_wal');
    mkdirSync(join(walDir, 'archive_status'), { recursive: true });
  });
  afterEach(() => sb.cleanup());

  const name = (i: number) => `0000000100000000000000${i.toString(16).toUpperCase().padStart(2, '0')}`;
  /** Segments of 1 MiB, each ready (archive_status/NAME.ready) as PostgreSQL leaves them, last written a moment ago (more than RACY_MS). */
  const ready = (from: number, count: number): string[] => {
    const names = Array.from({ length: count }, (_, k) => {
      const n = name(from + k);
      writeFileSync(join(walDir, n), prngBytes(1 << 20, from + k));
      writeFileSync(join(walDir, 'archive_status', `${n}.ready`), '');
      return n;
    });
    const until = Date.now() + RACY_MS + 20;
    while (Date.now() < until); // (ctime is of the kernel's clock; the push compares it with the wall clock)
    return names;
  };
  const area = () => spoolArea(spool, 'archive', ctx.config.storagePath, walDir);

  it('the first call stores its segment and starts the push; the push marks the others; their calls succeed from the marks', async () => {
    const names = ready(1, 6);
    const started: Array<[string, string]> = [];
    const first = await archiveWal(ctx, join(walDir, names[0]!), { spool, startPush: (d, skip) => started.push([d, skip]) });
    assert.equal(first.stored, 'new');
    assert.deepEqual(started, [[walDir, names[0]]]);
    const pushed = await pushReadyWal(ctx, walDir, names[0], spool);
    assert.deepEqual(pushed, { pushed: 5, failed: 0 });
    for (const n of names.slice(1)) {
      assert.equal(await archivedAhead(spool, ctx.config.storagePath, join(walDir, n)), true, n);
      const r = await archiveWal(ctx, join(walDir, n), { spool });
      assert.equal(r.pushed_ahead, true, n);
    }
    // every record is whole: each segment comes back byte for byte
    for (const n of names) {
      await restoreWal(ctx, n, join(sb.root, 'back'));
      assert.deepEqual(readFileSync(join(sb.root, 'back')), readFileSync(join(walDir, n)), n);
    }
    // PostgreSQL takes them as archived: the next push removes their marks
    for (const n of names) rmSync(join(walDir, 'archive_status', `${n}.ready`));
    await pushReadyWal(ctx, walDir, undefined, spool);
    assert.deepEqual(
      readdirSync(area()).filter((f) => !f.startsWith('.')),
      [],
    );
  });

  it('the push hands each chunk worker two segments (the next is stored while the last one is recorded); every mark still stands for a whole record', async () => {
    assert.equal(pushLanes(1), 2);
    assert.equal(pushLanes(2), 4);
    assert.equal(pushLanes(0), 2);
    const one = { ...spool, parallel: 1 };
    const names = ready(1, 5);
    assert.deepEqual(await pushReadyWal(ctx, walDir, undefined, one), { pushed: 5, failed: 0 });
    for (const n of names) {
      assert.equal(await archivedAhead(one, ctx.config.storagePath, join(walDir, n)), true, n);
      await restoreWal(ctx, n, join(sb.root, 'back'));
      assert.deepEqual(readFileSync(join(sb.root, 'back')), readFileSync(join(walDir, n)), n);
    }
  });

  it('a mark never stands for other bytes: damaged, of another size, of another content, or without its record', async () => {
    const [a, b, c, d] = ready(0x10, 4);
    await pushReadyWal(ctx, walDir, undefined, spool);
    // damaged mark: ignored (and removed); the call checks the record itself
    writeFileSync(join(area(), `${a}.ok`), '{"name":');
    assert.equal(await archivedAhead(spool, ctx.config.storagePath, join(walDir, a!)), false);
    assert.equal((await archiveWal(ctx, join(walDir, a!), { spool })).pushed_ahead, undefined);
    assert.equal(existsSync(join(area(), `${a}.ok`)), false);
    // a mark of another size
    await writeMark(area(), { name: b!, size: 1 << 19, sha256: '0'.repeat(64) });
    assert.equal(await archivedAhead(spool, ctx.config.storagePath, join(walDir, b!)), false);
    assert.equal((await archiveWal(ctx, join(walDir, b!), { spool })).pushed_ahead, undefined);
    // the file in pg_wal is not the one pushed (same size, other bytes): refused, as without a spool
    writeFileSync(join(walDir, c!), prngBytes(1 << 20, 999));
    assert.equal(await archivedAhead(spool, ctx.config.storagePath, join(walDir, c!)), false);
    await assert.rejects(
      archiveWal(ctx, join(walDir, c!), { spool }),
      (e: PrismError) => e.code === 'PG_ARCHIVE_FAILED' && /different content/.test(e.message),
    );
    // the record is gone (a new repository at that path): stored again
    rmSync(join(sb.repo, 'pg', 'wal', `${d}.json`));
    assert.equal(await archivedAhead(spool, ctx.config.storagePath, join(walDir, d!)), false);
    assert.equal((await archiveWal(ctx, join(walDir, d!), { spool })).stored, 'new');
  });

  it('the lean archive-wal trusts a mark by the file identity it recorded: a segment written again (same bytes) or a mark without it is not trusted', async () => {
    const [a, b, c] = ready(0x18, 3);
    await pushReadyWal(ctx, walDir, undefined, spool);
    for (const n of [a, b, c]) assert.equal(await archivedAhead(spool, ctx.config.storagePath, join(walDir, n!)), true, n);
    const mark = parseMark(readFileSync(join(area(), `${a}.ok`), 'utf8'), a!)!;
    assert.equal(mark.record, join(sb.repo, 'pg', 'wal', `${a}.json`));
    assert.equal(mark.file?.size, 1n << 20n);
    // the same bytes written again: the ctime moved (no hash needed to see it)
    writeFileSync(join(walDir, a!), readFileSync(join(walDir, a!)));
    assert.equal(await archivedAhead(spool, ctx.config.storagePath, join(walDir, a!)), false);
    assert.equal((await archiveWal(ctx, join(walDir, a!), { spool })).stored, 'already archived'); // the whole call compares bytes with the record
    // a mark with its SHA-256 right but no identity, or naming a record elsewhere
    const { file: _f, ...noId } = parseMark(readFileSync(join(area(), `${b}.ok`), 'utf8'), b!)!;
    await writeMark(area(), noId);
    assert.equal(await archivedAhead(spool, ctx.config.storagePath, join(walDir, b!)), false);
    const mc = parseMark(readFileSync(join(area(), `${c}.ok`), 'utf8'), c!)!;
    await writeMark(area(), { ...mc, record: join(sb.root, 'elsewhere.json') });
    assert.equal(await archivedAhead(spool, ctx.config.storagePath, join(walDir, c!)), false);
    await writeMark(area(), mc);
    assert.equal(await archivedAhead(spool, ctx.config.storagePath, join(walDir, c!)), true);
  });

  it('marks: a damaged or foreign text is no mark; the identity is recorded only when the file was not changed just before or while it was read', () => {
    const m = { name: name(1), size: 1 << 20, sha256: 'a'.repeat(64), file: { dev: 1n, ino: 2n, size: 3n, mtimeNs: 4n, ctimeNs: 5n }, record: '/r e/\u00e9' };
    assert.deepEqual(parseMark(formatMark(m), name(1)), m);
    assert.equal(parseMark(formatMark(m), name(2)), undefined);
    for (const bad of [
      formatMark(m).replace('end\n', ''),
      formatMark(m) + 'x\n',
      formatMark(m).replace('size 1048576', 'size -1'),
      formatMark(m).replace('record /r%20e', 'record r%20e'),
      '{"name":1}',
    ])
      assert.equal(parseMark(bad, name(1)), undefined, bad);
    const id = (ctimeNs: bigint) => ({ dev: 1n, ino: 2n, size: 3n, mtimeNs: 4n, ctimeNs });
    const start = 1_800_000_000_000;
    const old = BigInt(start - RACY_MS - 1) * 1_000_000n;
    assert.deepEqual(stableIdentity(id(old), id(old), start), id(old));
    assert.equal(stableIdentity(id(old), id(old + 1n), start), undefined, 'changed while read');
    assert.equal(
      stableIdentity(id(BigInt(start - RACY_MS + 1) * 1_000_000n), id(BigInt(start - RACY_MS + 1) * 1_000_000n), start),
      undefined,
      'changed just before',
    );
    assert.equal(stableIdentity(undefined, id(old), start), undefined);
  });

  it('restore-wal serves a segment fetched ahead only when it is whole and the same; an absent history file empties the spool', async () => {
    const names = ready(0x20, 6);
    for (const n of names) await archiveWal(ctx, join(walDir, n));
    const target = join(sb.root, 'recovering', 'pg_wal');
    mkdirSync(target, { recursive: true });
    const rspool = { ...spool, prefetch: 4 };
    const rarea = spoolArea(rspool, 'restore', ctx.config.storagePath, target);
    const starts: string[] = [];
    const first = await restoreWal(ctx, names[0]!, join(target, 'RECOVERYXLOG'), { spool: rspool, startPrefetch: (_d, after) => starts.push(after) });
    assert.equal(first.prefetched, undefined);
    assert.deepEqual(starts, [names[0]]);
    assert.deepEqual(await prefetchWal(ctx, target, names[0]!, rspool, { idleMs: 0 }), { fetched: 4 });
    assert.deepEqual(
      readdirSync(rarea)
        .filter((f) => f !== 'worker.json' && f !== 'at' && !f.startsWith('.'))
        .sort(),
      names.slice(1, 5).flatMap((n) => [n, `${n}.ok`]),
    );
    const got = await restoreWal(ctx, names[1]!, join(target, 'RECOVERYXLOG'), { spool: rspool });
    assert.equal(got.prefetched, true);
    assert.deepEqual(readFileSync(join(target, 'RECOVERYXLOG')), readFileSync(join(walDir, names[1]!)));
    // a damaged copy (one byte) and a short one are removed, never served
    const damaged = readFileSync(join(rarea, names[2]!));
    damaged[1000] ^= 1;
    writeFileSync(join(rarea, names[2]!), damaged);
    truncateSync(join(rarea, names[3]!), 4096);
    for (const n of [names[2]!, names[3]!]) {
      const r = await restoreWal(ctx, n, join(target, 'RECOVERYXLOG'), { spool: rspool });
      assert.equal(r.prefetched, undefined, n);
      assert.deepEqual(readFileSync(join(target, 'RECOVERYXLOG')), readFileSync(join(walDir, n)), n);
      assert.equal(existsSync(join(rarea, n)), false);
    }
    // a killed fetch's temporary file is not served
    writeFileSync(join(rarea, `.${names[5]}.999999.tmp`), readFileSync(join(walDir, names[5]!)));
    assert.equal((await restoreWal(ctx, names[5]!, join(target, 'RECOVERYXLOG'), { spool: rspool })).prefetched, undefined);
    // PostgreSQL's probe for a next timeline (at the end of recovery): the spool is emptied
    await assert.rejects(
      restoreWal(ctx, '00000002.history', join(target, 'RECOVERYHISTORY'), { spool: rspool }),
      (e: PrismError) => e.details['absent'] === true,
    );
    assert.deepEqual(
      readdirSync(rarea).filter((f) => /^[0-9A-F]{24}/.test(f)),
      [],
    );
    assert.equal(existsSync(join(rarea, 'stop')), true);
  });

  /** Six archived segments and a recovering cluster's pg_wal; the restore spool fetching 4 ahead. */
  const archived = async (from: number) => {
    const names = ready(from, 6);
    for (const n of names) await archiveWal(ctx, join(walDir, n));
    const target = join(sb.root, 'recovering', 'pg_wal');
    mkdirSync(target, { recursive: true });
    const rspool = { ...spool, prefetch: 4 };
    return { names, target, rspool, rarea: spoolArea(rspool, 'restore', ctx.config.storagePath, target), xlog: join(target, 'RECOVERYXLOG') };
  };

  it('the lean restore-wal serves a marked segment without the repository while it is the file the fetch wrote; a wrong mark or damaged copy falls back', async () => {
    const { names, target, rspool, rarea, xlog } = await archived(0x30);
    assert.deepEqual(await prefetchWal(ctx, target, names[0]!, rspool, { idleMs: 0 }), { fetched: 4 });
    // no repository at that path at all (nor keys): the mark and the file are enough
    const elsewhere = join(sb.root, 'moved-repo');
    const { cpSync } = await import('node:fs');
    cpSync(ctx.config.storagePath, elsewhere, { recursive: true });
    rmSync(ctx.config.storagePath, { recursive: true });
    try {
      assert.equal(await servePrefetched(rspool, ctx.config.storagePath, names[1]!, xlog), true);
      assert.deepEqual(readFileSync(xlog), readFileSync(join(walDir, names[1]!)));
      assert.equal(existsSync(join(rarea, names[1]!)), false);
      assert.equal(existsSync(join(rarea, `${names[1]}.ok`)), false);
    } finally {
      cpSync(elsewhere, ctx.config.storagePath, { recursive: true });
    }
    // a mark without the copy's identity: not served by the lean start; the whole call checks the record and serves it
    await writeMark(rarea, { name: names[2]!, size: 1 << 20, sha256: 'f'.repeat(64) });
    assert.equal(await servePrefetched(rspool, ctx.config.storagePath, names[2]!, xlog), false);
    assert.equal(existsSync(join(rarea, names[2]!)), true);
    assert.equal((await restoreWal(ctx, names[2]!, xlog, { spool: rspool })).prefetched, true);
    assert.deepEqual(readFileSync(xlog), readFileSync(join(walDir, names[2]!)));
    // a damaged copy under a right mark: refused by both; the whole call fetches it from the repository
    const damaged = readFileSync(join(rarea, names[3]!));
    damaged[77] ^= 0x40;
    writeFileSync(join(rarea, names[3]!), damaged);
    assert.equal(await servePrefetched(rspool, ctx.config.storagePath, names[3]!, xlog), false);
    assert.equal((await restoreWal(ctx, names[3]!, xlog, { spool: rspool })).prefetched, undefined);
    assert.deepEqual(readFileSync(xlog), readFileSync(join(walDir, names[3]!)));
    assert.equal(existsSync(join(rarea, names[3]!)), false);
    // a file without its mark (a worker killed between the rename and the mark), and a temporary file: not served lean
    rmSync(join(rarea, `${names[4]}.ok`));
    assert.equal(await servePrefetched(rspool, ctx.config.storagePath, names[4]!, xlog), false);
    writeFileSync(join(rarea, `.${names[5]}.999999.tmp`), readFileSync(join(walDir, names[5]!)));
    assert.equal(await servePrefetched(rspool, ctx.config.storagePath, names[5]!, xlog), false);
    // prefetch 0 and history files never take the lean way
    assert.equal(await servePrefetched({ ...rspool, prefetch: 0 }, ctx.config.storagePath, names[4]!, xlog), false);
    assert.equal(await servePrefetched(rspool, ctx.config.storagePath, '00000002.history', xlog), false);
  });

  it('the fetch ahead keeps its depth as segments are taken, continues after one restore-wal fetched itself; the end of recovery empties the spool', async () => {
    const { names, target, rspool, rarea, xlog } = await archived(0x40);
    const depth = { ...rspool, prefetch: 2 };
    const segs = () => readdirSync(rarea).filter((f) => /^[0-9A-F]{24}$/.test(f));
    const running = prefetchWal(ctx, target, names[0]!, depth, { idleMs: 30_000 });
    const until = async (what: string, ok: () => boolean) => {
      for (let i = 0; i < 500 && !ok(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(ok(), what);
    };
    await until('two ahead', () => existsSync(join(rarea, `${names[2]}.ok`)));
    assert.deepEqual(segs(), names.slice(1, 3));
    assert.equal(await servePrefetched(depth, ctx.config.storagePath, names[1]!, xlog), true);
    await until('the next one', () => existsSync(join(rarea, `${names[3]}.ok`)));
    assert.deepEqual(segs(), names.slice(2, 4));
    // PostgreSQL asks for one past what it holds (restore-wal fetches it and says so): it goes on after that one
    assert.equal((await restoreWal(ctx, names[4]!, xlog, { spool: depth })).prefetched, undefined);
    await until('after the one fetched, and nothing before it', () => existsSync(join(rarea, `${names[5]}.ok`)) && segs().join() === names[5]);
    // the end of recovery (recovery_end_command): the worker stops and the area goes
    const ended = await endRestore(ctx, target, depth);
    assert.equal(ended.removed, 1);
    await running;
    assert.deepEqual(readdirSync(rarea), ['stop']);
    // a fetch started by one of the last calls ends at once; the next recovery's first miss takes `stop` away
    assert.deepEqual(await prefetchWal(ctx, target, names[0]!, depth, { idleMs: 0 }), { fetched: 0 });
    assert.equal((await restoreWal(ctx, names[0]!, xlog, { spool: depth })).prefetched, undefined);
    assert.equal(existsSync(join(rarea, 'stop')), false);
  });

  it('names the segment after another across a log file boundary', () => {
    assert.equal(nextSegment('0000000100000000000000FF', 16 << 20), '000000010000000100000000');
    assert.equal(nextSegment('000000010000000000000007', 16 << 20), '000000010000000000000008');
    assert.equal(nextSegment('000000020000000300000FFF', 1 << 20), '000000020000000400000000');
  });
});
