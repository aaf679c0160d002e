import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Cron } from 'croner';
import { FixedClock } from '../../core/clock.js';
import type { PrismError } from '../../errors/index.js';
import { VERIFY_STATE, type Manifest } from '../../repo/index.js';
import { deletePackOf, events, flipChunkOf, openRepo, packFile } from '../../testing/damage.js';
import { appContext, json, prism, prngBytes, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { backgroundVerify } from './background-verify.js';
import { backupInfo } from '../backups/backup-info.js';
import type { AppContext } from '../context.js';
import { createBackup } from '../backups/create-backup.js';
import { readTasks } from '../monitoring/task-log.js';
import { verifyBackups } from './verify-backups.js';

const MiB = 1024 * 1024;
const DAY = 86_400_000;
const BIG = 'level-1-hot/aaa-big.bin';

describe('background verification', () => {
  let sb: Sandbox;
  let clock: FixedClock;
  let ctx: AppContext;
  const context = (config?: object) => {
    if (config) writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: config }));
    // one thread: the pack layout is deterministic
    ctx = appContext(sb, { PRISM_BACKUP_CONCURRENCY: '1' }, clock);
  };
  beforeEach(() => {
    sb = sandbox();
    clock = new FixedClock(new Date('2026-02-07T02:00:15Z'));
    context();
  });
  afterEach(() => sb.cleanup());

  /** A small data set plus an incompressible file first in walk order (its chunks have frames of their own). */
  async function backup(bigBytes: number, seed = 21): Promise<Manifest> {
    writeDataset(sb.home, { files: 6 });
    writeFileSync(join(sb.home, BIG), prngBytes(bigBytes, seed));
    return createBackup(ctx, { type: 'full' });
  }

  it('rotation: each scheduled run reads only its share, and every pack is read within the period', async () => {
    context({ schedule: { verify: '30 4 * * *' }, verification: { period_days: 7 } });
    await backup(40 * MiB);
    const packs = (await openRepo(sb)).index.packCount;
    assert.ok(packs >= 3, `several packs (${packs})`);
    const job = new Cron('30 4 * * *');
    const lastRead = new Map<string, number>();
    let t = job.nextRun(clock.now())!;
    for (let run = 0; run < 14; run++, t = job.nextRun(t)!) {
      clock.set(t);
      const r = await backgroundVerify(ctx, { trigger: 'scheduled' });
      assert.equal(r.ok, true);
      assert.equal(r.runs_per_period, 7);
      assert.equal(r.share, Math.ceil(r.packs_total / 7));
      assert.equal(r.packs_read.length, r.share, `run ${run} reads its share only`);
      for (const p of r.packs_read) {
        if (lastRead.has(p)) assert.ok(t.getTime() - lastRead.get(p)! <= 7 * DAY, 'read again within the period');
        lastRead.set(p, t.getTime());
      }
      // by the end of each period every pack has been read
      if (run === 6 || run === 13) {
        assert.equal(lastRead.size, r.packs_total, `after ${run + 1} runs every pack was read`);
        for (const at of lastRead.values()) assert.ok(t.getTime() - at < 7 * DAY);
      }
    }
    const tasks = readTasks(sb.home).filter((x) => x.job === 'verify');
    assert.equal(tasks.length, 14);
    assert.ok(tasks.every((x) => x.status === 'ok' && x.trigger === 'scheduled' && x.details?.action === 'read' && x.details.packs_read === 1));
    const state = JSON.parse(readFileSync(join(sb.repo, VERIFY_STATE), 'utf8')) as { packs: Record<string, { last_read: string }> };
    assert.equal(Object.keys(state.packs).length, lastRead.size);
  });

  it('rotation: a schedule twice a day with a 1-day period reads half the packs each run', async () => {
    context({ schedule: { verify: '0 */12 * * *' }, verification: { period_days: 1 } });
    await backup(40 * MiB);
    const read: string[][] = [];
    const job = new Cron('0 */12 * * *');
    let t = job.nextRun(clock.now())!;
    for (let run = 0; run < 4; run++, t = job.nextRun(t)!) {
      clock.set(t);
      const r = await backgroundVerify(ctx, { trigger: 'scheduled' });
      assert.equal(r.runs_per_period, 2);
      assert.equal(r.packs_read.length, Math.ceil(r.packs_total / 2));
      read.push(r.packs_read);
    }
    const total = (await openRepo(sb)).index.packCount;
    assert.equal(new Set([...read[0]!, ...read[1]!]).size, total, 'two runs (one period) cover every pack');
    assert.equal(new Set([...read[2]!, ...read[3]!]).size, total);
  });

  it('a flipped byte in a pack whose source file is unchanged: the chunk is re-stored, verify --all is clean, the task log says repair', async () => {
    const m = await backup(6 * MiB);
    const { files, chunk } = await flipChunkOf(sb, m, BIG);
    const damagedPack = readFileSync(packFile(sb, chunk.pack));
    const r = await backgroundVerify(ctx, { trigger: 'scheduled' });
    assert.equal(r.packs_read.length, 1, 'one pack of data: read in the first run');
    assert.equal(r.damaged_chunks, 1);
    assert.deepEqual(r.repaired, { chunks: 1, files, packs_written: 1 });
    assert.deepEqual([r.ok, r.needsFullBackup, r.corrupted, r.forgotten_blobs, r.repaired_backups], [true, false, [], 0, [m.id]]);
    // the fresh copy supersedes the damaged one; the damaged pack's other blobs stay where they are
    const repo = await openRepo(sb);
    assert.notEqual(repo.index.get(chunk.id)!.pack, chunk.pack);
    assert.ok(readFileSync(packFile(sb, chunk.pack)).equals(damagedPack), 'the damaged pack is left as it was');
    assert.ok(
      [...repo.index.entries()].some((e) => e.pack === chunk.pack),
      'its other blobs are still indexed there',
    );
    const all = await verifyBackups(ctx, { all: true, data: { kind: 'all' } });
    assert.equal(all.ok, true);
    assert.equal((await backupInfo(ctx, m.id)).status, 'completed');
    const repair = readTasks(sb.home).filter((x) => x.job === 'repair');
    assert.equal(repair.length, 1);
    assert.equal(repair[0]!.status, 'ok');
    assert.deepEqual(repair[0]!.details?.files, [BIG]);
    assert.deepEqual(
      events(sb).filter((e) => e.event === 'verify.failed'),
      [],
      'a repaired chunk raises no alert',
    );
    const read = readTasks(sb.home).filter((x) => x.job === 'verify');
    assert.equal(read.length, 1);
    assert.equal(read[0]!.status, 'failed', 'the read found damage');
    assert.equal(read[0]!.details?.damaged_chunks, 1);
  });

  it('a repair killed between writing the new index and deleting the old one: the next run reads the pack again and finishes', async () => {
    const m = await backup(6 * MiB);
    const { chunk } = await flipChunkOf(sb, m, BIG);
    const indexDir = join(sb.repo, 'index');
    const before = new Map(readdirSync(indexDir).map((n) => [n, readFileSync(join(indexDir, n))]));
    assert.equal((await backgroundVerify(ctx, {})).repaired.chunks, 1);
    for (const [n, data] of before) writeFileSync(join(indexDir, n), data); // the old index files are back beside the new one
    clock.advance(DAY);
    const again = await backgroundVerify(ctx, {});
    assert.ok(again.packs_read.includes(chunk.pack), 'the pack where damage was found is read first');
    assert.equal(again.ok, true);
    assert.equal((await verifyBackups(ctx, { all: true, data: { kind: 'all' } })).ok, true);
    assert.equal((await backupInfo(ctx, m.id)).status, 'completed');
  });

  it('the same with the source file changed: marked corrupted, a high event, needsFullBackup, and the next full backup stores a fresh copy', async () => {
    const m = await backup(6 * MiB);
    const { chunk } = await flipChunkOf(sb, m, BIG);
    writeFileSync(join(sb.home, BIG), prngBytes(6 * MiB, 99)); // the live file no longer holds the content
    const r = await backgroundVerify(ctx, { trigger: 'scheduled' });
    assert.deepEqual([r.ok, r.needsFullBackup, r.repaired.chunks, r.unrecoverable_chunks, r.forgotten_blobs], [false, true, 0, 1, 1]);
    assert.deepEqual(r.corrupted, [{ id: m.id, damaged: [BIG] }]);
    assert.equal((await backupInfo(ctx, m.id)).status, 'corrupted');
    const ev = events(sb).filter((e) => e.event === 'verify.failed');
    assert.equal(ev.length, 1);
    assert.deepEqual([ev[0]!.severity, ev[0]!.backup, ev[0]!.damaged, ev[0]!.needs_full_backup], ['high', m.id, [BIG], true]);
    const mark = readTasks(sb.home).filter((x) => x.job === 'repair');
    assert.deepEqual(
      mark.map((x) => [x.status, x.error_code, x.details?.action]),
      [['failed', 'ERR_BACKUP_005', 'mark']],
    );
    assert.equal((await openRepo(sb)).index.hasHex(chunk.id), false, 'the damaged copy is no longer known');

    // the next run: the backup is still corrupted, but nothing new is raised
    clock.advance(DAY);
    const again = await backgroundVerify(ctx, { trigger: 'scheduled' });
    assert.deepEqual([again.ok, again.still_corrupted, again.corrupted, again.needsFullBackup], [false, [m.id], [], false]);
    assert.equal(events(sb).filter((e) => e.event === 'verify.failed').length, 1);

    // the lost content comes back (another file with it): the next full backup must store it afresh
    clock.advance(3600_000);
    writeFileSync(join(sb.home, 'level-2-warm', 'copy.bin'), prngBytes(6 * MiB, 21));
    const next = await createBackup(ctx, { type: 'full' });
    const v = await verifyBackups(ctx, { id: next.id, data: { kind: 'all' } });
    assert.equal(v.ok, true, JSON.stringify(v.backups[0]?.steps));
    assert.notEqual((await openRepo(sb)).index.get(chunk.id)!.pack, chunk.pack);
  });

  it('a backup marked corrupted by verify is read whole on the next run, repaired and cleared', async () => {
    const m = await backup(40 * MiB);
    await flipChunkOf(sb, m, BIG);
    assert.equal((await verifyBackups(ctx, { id: m.id, data: { kind: 'all' } })).ok, false);
    assert.equal((await backupInfo(ctx, m.id)).status, 'corrupted');
    const r = await backgroundVerify(ctx, {});
    assert.equal(r.packs_read.length, r.packs_total, 'every pack of the marked backup is read, not only the share');
    assert.ok(r.share < r.packs_total);
    assert.deepEqual([r.ok, r.cleared, r.repaired.chunks, r.trigger], [true, [m.id], 1, 'manual']);
    assert.equal((await backupInfo(ctx, m.id)).status, 'completed');
    clock.advance(DAY);
    assert.equal((await backgroundVerify(ctx, {})).packs_read.length, r.share, 'then the rotation goes on as usual');
  });

  it('a backup marked corrupted by verify whose source changed: read whole once, its damaged copy dropped, a full backup asked for', async () => {
    const m = await backup(6 * MiB);
    const { chunk } = await flipChunkOf(sb, m, BIG);
    await verifyBackups(ctx, { id: m.id, data: { kind: 'all' } });
    const alerts = events(sb).length;
    writeFileSync(join(sb.home, BIG), prngBytes(6 * MiB, 98));
    const r = await backgroundVerify(ctx, {});
    assert.deepEqual([r.ok, r.needsFullBackup, r.forgotten_blobs, r.corrupted, r.still_corrupted], [false, true, 1, [], [m.id]]);
    assert.equal(events(sb).length, alerts, 'verify already raised the alert');
    assert.equal((await openRepo(sb)).index.hasHex(chunk.id), false);
  });

  it('a lost pack of trees: the backup is marked corrupted and its trees forgotten', async () => {
    writeDataset(sb.home, { files: 4 });
    const m = await createBackup(ctx, { type: 'full' });
    const repo = await openRepo(sb);
    const [pack] = new Set([...repo.index.entries()].map((e) => e.pack));
    rmSync(packFile(sb, pack!));
    const r = await backgroundVerify(ctx, {});
    assert.deepEqual([r.ok, r.needsFullBackup, r.corrupted.map((c) => c.id)], [false, true, [m.id]]);
    assert.ok(r.forgotten_blobs >= 1);
    assert.equal((await openRepo(sb)).index.hasHex(m.tree!), false);
    const next = await createBackup(ctx, { type: 'full' });
    assert.equal((await verifyBackups(ctx, { id: next.id, data: { kind: 'all' } })).ok, true, 'the new backup stored fresh trees and data');
  });

  it('a damaged frame holding a tree and file data: every blob in it is forgotten, and the next full backup verifies clean', async () => {
    writeDataset(sb.home, { files: 4 });
    const m = await createBackup(ctx, { type: 'full' });
    const repo = await openRepo(sb);
    const root = repo.index.get(m.tree!)!;
    const inFrame = [...repo.index.entries()].filter((e) => e.pack === root.pack && e.frameOffset === root.frameOffset);
    assert.ok(
      inFrame.some((e) => e.type === 0),
      'small files and trees share the frame',
    );
    const file = packFile(sb, root.pack);
    const original = readFileSync(file);
    // a flipped byte in a zstd table can leave the output as it was: flip until the tree is damaged
    for (let at = root.frameOffset + (root.frameLength >> 1); ; at++) {
      const buf = Buffer.from(original);
      buf[at]! ^= 0xff;
      writeFileSync(file, buf);
      if (
        !(await (await openRepo(sb)).readBlob(m.tree!).then(
          () => true,
          () => false,
        ))
      )
        break;
      assert.ok(at < root.frameOffset + root.frameLength, 'some byte of the frame matters');
    }
    const r = await backgroundVerify(ctx, {});
    assert.deepEqual([r.ok, r.needsFullBackup, r.corrupted.map((c) => c.id)], [false, true, [m.id]]);
    assert.equal(r.forgotten_blobs, inFrame.length);
    const after = await openRepo(sb);
    assert.ok(inFrame.every((e) => !after.index.hasHex(e.id)));
    clock.advance(3600_000);
    const next = await createBackup(ctx, { type: 'full' });
    assert.equal((await verifyBackups(ctx, { id: next.id, data: { kind: 'all' } })).ok, true);
  });

  it('a lost pack no backup uses: its entries are dropped from the index, no backup is marked, no full backup asked for', async () => {
    const a = await backup(20 * MiB);
    rmSync(join(sb.home, BIG));
    clock.advance(3600_000);
    const b = await createBackup(ctx, { type: 'full' });
    await deletePackOf(sb, a, BIG);
    rmSync(join(sb.repo, 'snapshots', `${a.id}.json`));
    const r = await backgroundVerify(ctx, {});
    assert.deepEqual([r.ok, r.needsFullBackup, r.corrupted, r.damaged_chunks], [true, false, [], 0]);
    assert.ok(r.forgotten_blobs >= 1);
    assert.equal((await verifyBackups(ctx, { id: b.id, data: { kind: 'all' } })).ok, true);
    assert.deepEqual(
      readTasks(sb.home)
        .filter((x) => x.job === 'repair')
        .map((x) => [x.status, x.details?.action]),
      [['ok', 'forget']],
    );
    assert.equal((await backgroundVerify(ctx, {})).forgotten_blobs, 0, 'the index names no missing pack any more');
  });

  it('CLI: prism backup verify --background [--json]; bad input gets its error code', async () => {
    await backup(1 * MiB);
    const r = prism(['backup', 'verify', '--background'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Background verification: 1 backup\(s\), trees and index checked; data of 1 of 1 pack\(s\) read$/m);
    assert.match(r.stdout, /^Status: ok$/m);
    const j = json<{ ok: boolean; packs_total: number; trigger: string }>(prism(['backup', 'verify', '--background', '--json'], sb.env));
    assert.deepEqual([j.ok, j.packs_total, j.trigger], [true, 1, 'manual']);

    for (const args of [
      ['--background', 'backup_20260207_020015_full'],
      ['--background', '--all'],
      ['--background', '--no-read-data'],
      ['--lock-wait', '5m', '--all'],
      ['--background', '--lock-wait', 'soon'],
    ]) {
      const bad = prism(['backup', 'verify', ...args, '--json'], sb.env);
      assert.equal(bad.code, 2, `${args.join(' ')}: ${bad.stdout}`);
      assert.equal(json<{ error: { code: string } }>(bad).error.code, 'ERR_PRISM_ARGS');
    }
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { schedule: { verify: 'every night' } } }));
    const cron = prism(['backup', 'verify', '--background'], sb.env);
    assert.equal(cron.code, 3, cron.stderr);
    assert.match(cron.stderr, /^Error \[ERR_PRISM_CONFIG\] backup\.schedule\.verify = "every night": /m);
    rmSync(join(sb.home, 'config', 'backup.json'));

    const none = prism(['backup', 'verify', '--background'], { ...sb.env, PRISM_BACKUP_PATH: join(sb.root, 'nothing') });
    assert.equal(none.code, 7, none.stderr);
    assert.match(none.stderr, /^Error \[ERR_PRISM_NO_REPO\] /m);
    assert.equal(existsSync(join(sb.root, 'nothing')), false);
    await assert.rejects(backgroundVerify(appContext(sb, { PRISM_BACKUP_PATH: join(sb.root, 'nothing') }), {}), (e: PrismError) => e.code === 'REPO_NOT_FOUND');
    const failed = readTasks(sb.home).at(-1)!;
    assert.deepEqual([failed.job, failed.status, failed.error_code], ['verify', 'failed', 'ERR_PRISM_NO_REPO']);

    // a damaged state file is started afresh, not an error
    writeFileSync(join(sb.repo, VERIFY_STATE), '{not json');
    assert.equal((await backgroundVerify(ctx, {})).ok, true);
    assert.equal(JSON.parse(readFileSync(join(sb.repo, VERIFY_STATE), 'utf8')).version, 1);
  });

  it('an aborted run is recorded as aborted and changes nothing', async () => {
    await backup(1 * MiB);
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(backgroundVerify(ctx, { signal: abort.signal, trigger: 'scheduled' }), (e: PrismError) => e.code === 'INTERRUPTED');
    const t = readTasks(sb.home).at(-1)!;
    assert.deepEqual([t.job, t.status, t.error_code], ['verify', 'aborted', 'ERR_PRISM_INTERRUPTED']);
    assert.equal(existsSync(join(sb.repo, VERIFY_STATE)), false);
  });
});
