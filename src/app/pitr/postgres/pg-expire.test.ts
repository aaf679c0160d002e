import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FixedClock } from '../../../core/clock.js';
import type { PrismError } from '../../../errors/index.js';
import { appContext, prngBytes, sandbox, sizeListing, writeDataset, type Sandbox } from '../../../testing/fixtures.js';
import { openRepository, type AppContext } from '../../context.js';
import { compressionSettings, createBackup } from '../../backups/create-backup.js';
import { archiveWal, listWal, restoreWal } from './pg-archive-wal.js';
import { storeStream } from '../blob-store.js';
import { expirePgArchive } from './pg-expire.js';
import {
  listBaseRecords,
  listRestorePointRecords,
  listWalRecords,
  putBaseRecord,
  putRestorePointRecord,
  restorePointKey,
  type BaseRecord,
  type RestorePointRecord,
} from './pg-records.js';
import { parseLsn } from '../../../source/postgres/pg-wal-name.js';
import { cleanupBackups } from '../../maintenance/retention.js';
import { verifyBackups } from '../../integrity/verify-backups.js';

const NOW = new Date('2026-12-10T12:00:00Z');
const DAY = 86_400_000;
const seg = (tl: number, n: number) => `${tl.toString(16).toUpperCase().padStart(8, '0')}${'0'.repeat(8)}${n.toString(16).toUpperCase().padStart(8, '0')}`;

describe('PITR archive retention on a real repository (cleanup, pg expire, prune)', () => {
  let sb: Sandbox;
  let ctx: AppContext;
  beforeEach(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 4 });
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({ backup: { retention_policy: { pg_base_backups_count: 1, pg_base_backups_age_days: 3 } } }),
    );
    ctx = appContext(sb, {}, new FixedClock(NOW));
  });
  afterEach(() => sb.cleanup());

  /** Archives a 1 MiB segment (or any other WAL file) of its own content through `pg archive-wal`. */
  const archive = async (name: string, seed: number, size = 1 << 20): Promise<Buffer> => {
    const data = prngBytes(size, seed);
    writeFileSync(join(sb.root, name), data);
    await archiveWal(ctx, join(sb.root, name));
    return data;
  };

  /** A base backup record as `pg basebackup` writes it, with 2 MiB of data of its own. */
  const baseBackup = async (id: string, daysAgo: number, timeline: number, start: number, stop: number): Promise<BaseRecord> => {
    const repo = await openRepository(ctx);
    const stored = await storeStream(repo, Readable.from([prngBytes(2 << 20, start * 1000 + timeline)]), compressionSettings(ctx));
    const finished = new Date(NOW.getTime() - daysAgo * DAY);
    const record: BaseRecord = {
      format: 1,
      id,
      started_at: new Date(finished.getTime() - 60_000).toISOString(),
      finished_at: finished.toISOString(),
      server: { version: '15.10', system_identifier: '7300000000000000001', wal_segment_size: 1 << 20 },
      timeline,
      start_lsn: `0/${((start << 20) + 0x28).toString(16).toUpperCase()}`,
      stop_lsn: `0/${((stop << 20) + 0x100).toString(16).toUpperCase()}`,
      start_wal: seg(timeline, start),
      stop_wal: seg(timeline, stop),
      size: stored.size,
      sha256: stored.sha256,
      content: stored.content,
      label: `START WAL LOCATION: 0/${((start << 20) + 0x28).toString(16).toUpperCase()} (file ${seg(timeline, start)})\n`,
    };
    assert.ok(await putBaseRecord(repo, record));
    return record;
  };

  /** A restore point record as `pg restore-point` writes it. */
  const restorePoint = async (name: string, timeline: number, lsn: string, daysAgo: number, system = '7300000000000000001'): Promise<RestorePointRecord> => {
    const repo = await openRepository(ctx);
    const r: RestorePointRecord = {
      format: 1,
      name,
      lsn,
      timeline,
      created_at: new Date(NOW.getTime() - daysAgo * DAY).toISOString(),
      system_identifier: system,
    };
    assert.ok(await putRestorePointRecord(repo, r, restorePointKey(timeline, parseLsn(lsn))));
    return r;
  };
  const pointNames = async () => (await listRestorePointRecords(await openRepository(ctx))).map((p) => p.name);

  it('cleanup expires old base backups and the WAL before the oldest kept one, prune reclaims their data, the rest restores', async () => {
    await createBackup(ctx, { type: 'full' });
    const wal = new Map<string, Buffer>();
    for (let n = 1; n <= 3; n++) wal.set(seg(1, n), await archive(seg(1, n), n));
    const old = await baseBackup('pgbase_20261130_020000', 10, 1, 2, 2);
    for (let n = 4; n <= 6; n++) wal.set(seg(1, n), await archive(seg(1, n), n));
    wal.set('00000002.history', await archive('00000002.history', 99, 42));
    for (let n = 6; n <= 9; n++) wal.set(seg(2, n), await archive(seg(2, n), 100 + n));
    const middle = await baseBackup('pgbase_20261205_020000', 5, 2, 7, 7);
    const newest = await baseBackup('pgbase_20261209_020000', 1, 2, 8, 8);
    // restore points: before the kept base backup (gone with it), at its stop LSN and after it (kept), of another cluster (no base backup reaches it)
    await restorePoint('before-old', 1, '0/300010', 9);
    await restorePoint('other cluster', 2, '0/900020', 1.5, '7300000000000000999');
    await restorePoint('at the end of newest', 2, newest.stop_lsn, 1);
    await restorePoint('after newest', 2, '0/900010', 0.5);

    // the dry run says what would go and changes nothing
    const before = sizeListing(sb.repo);
    const dry = await cleanupBackups(ctx, { dryRun: true });
    assert.deepEqual(sizeListing(sb.repo), before, 'a dry run changes nothing');
    const p = dry.pg_archive;
    assert.equal(p.dry_run, true);
    assert.deepEqual(p.policy, { base_backups_count: 1, base_backups_age_days: 3 });
    assert.deepEqual(
      p.base_backups.map((b) => [b.id, b.keep]),
      [
        [newest.id, true],
        [middle.id, false],
        [old.id, false],
      ],
    );
    assert.deepEqual(p.removed_base_backups, [middle.id, old.id]);
    // segments numbered below 8 go, on both timelines; the history file stays
    assert.deepEqual(p.wal.expired, [seg(1, 1), seg(1, 2), seg(1, 3), seg(1, 4), seg(1, 5), seg(1, 6), seg(2, 6), seg(2, 7)]);
    assert.equal(p.wal.first_kept_segment, seg(2, 8));
    assert.equal(p.wal.oldest_kept_base_backup, newest.id);
    assert.equal(p.wal.kept, 3);
    assert.equal(p.wal.expired_bytes, 8 << 20);
    assert.ok(dry.prune.freedBytes > 10 << 20, `the dry run's prune counts the expired records' data (${dry.prune.freedBytes})`);
    assert.deepEqual(p.restore_points, {
      kept: 2,
      expired: [
        { name: 'before-old', lsn: '0/300010', timeline: 1, created_at: new Date(NOW.getTime() - 9 * DAY).toISOString() },
        { name: 'other cluster', lsn: '0/900020', timeline: 2, created_at: new Date(NOW.getTime() - 1.5 * DAY).toISOString() },
      ],
    });
    assert.deepEqual(p.warnings, []);
    assert.equal((await pointNames()).length, 4, 'a dry run removes no restore point');

    const r = await cleanupBackups(ctx, {});
    assert.deepEqual(r.pg_archive.removed_base_backups, [middle.id, old.id]);
    assert.deepEqual(r.pg_archive.wal.expired, p.wal.expired);
    assert.deepEqual(r.pg_archive.restore_points, p.restore_points);
    assert.deepEqual(await pointNames(), ['at the end of newest', 'after newest']);
    assert.ok(r.prune.freedBytes > 10 << 20, `prune freed ${r.prune.freedBytes}`);
    const repo = await openRepository(ctx);
    assert.deepEqual(
      (await listBaseRecords(repo)).map((b) => b.id),
      [newest.id],
    );
    assert.deepEqual(
      (await listWalRecords(repo)).map((w) => w.name),
      ['00000002.history', seg(2, 8), seg(2, 9)],
    );
    // the data of the removed records is gone from the index, that of the kept ones is there
    const index = await repo.loadIndex();
    for (const id of [...old.content, ...middle.content]) assert.equal(index.get(id), undefined, 'a removed base backup’s chunk');
    for (const id of newest.content) assert.ok(index.get(id), 'a kept base backup’s chunk');

    const v = await verifyBackups(ctx, { all: true, data: { kind: 'all' } });
    assert.equal(v.ok, true, JSON.stringify(v));
    for (const name of ['00000002.history', seg(2, 8), seg(2, 9)]) {
      const outPath = join(sb.root, `restored-${name}`);
      await restoreWal(ctx, name, outPath);
      assert.deepEqual(readFileSync(outPath), wal.get(name), name);
    }
    await assert.rejects(
      restoreWal(ctx, seg(1, 5), join(sb.root, 'x')),
      (e: PrismError) => e.code === 'PG_ARCHIVE_FAILED' && /not in the WAL archive/.test(e.message),
    );

    // a second run has nothing left to do
    const again = await expirePgArchive(ctx, {});
    assert.deepEqual([again.removed_base_backups, again.wal.expired, again.restore_points], [[], [], { kept: 2, expired: [] }]);
  });

  it('pg expire with no base backup expires nothing and warns; --no-prune leaves the data; it waits for no one', async () => {
    for (let n = 1; n <= 3; n++) await archive(seg(1, n), n);
    await restorePoint('early', 1, '0/100100', 12);
    await restorePoint('late', 1, '0/300200', 8);
    const r = await expirePgArchive(ctx, {});
    assert.deepEqual(r.wal.expired, []);
    assert.deepEqual(r.restore_points, { kept: 2, expired: [] }, 'no base backup: nothing is known to be unreachable');
    assert.equal(r.wal.kept, 3);
    assert.match(r.warnings[0]!, /no base backup/);
    assert.equal((await listWal(ctx)).wal.length, 3);

    await baseBackup('pgbase_20261201_020000', 9, 1, 3, 3);
    const repo = await openRepository(ctx);
    const shared = await repo.lock('shared', 'prism pg basebackup');
    try {
      await assert.rejects(expirePgArchive(ctx, {}), (e: PrismError) => e.code === 'REPO_LOCKED');
    } finally {
      await shared.release();
    }
    const packs = [...sizeListing(join(sb.repo, 'data')).keys()];
    const kept = await expirePgArchive(ctx, { prune: false });
    assert.deepEqual(kept.wal.expired, [seg(1, 1), seg(1, 2)]);
    assert.deepEqual(
      kept.restore_points.expired.map((p) => p.name),
      ['early'],
    );
    assert.deepEqual(await pointNames(), ['late']);
    assert.equal(kept.prune, null);
    assert.deepEqual([...sizeListing(join(sb.repo, 'data')).keys()], packs, 'no prune: the packs stay');
    assert.deepEqual(
      (await listWal(ctx)).wal.map((w) => w.name),
      [seg(1, 3)],
    );
  });

  it('a damaged restore point record does not stop the expiry: it is named and left; a point with a bad LSN is kept', async () => {
    await archive(seg(1, 1), 1);
    await baseBackup('pgbase_20261201_020000', 9, 1, 2, 2);
    await restorePoint('gone', 1, '0/100100', 10);
    const repo = await openRepository(ctx);
    assert.ok(
      await putRestorePointRecord(
        repo,
        { format: 1, name: 'odd', lsn: 'not-an-lsn', timeline: 1, created_at: NOW.toISOString(), system_identifier: '7300000000000000001' },
        '00000001FFFFFFFFFFFFFFFF',
      ),
    );
    writeFileSync(join(sb.repo, 'pg', 'restore-point', '0000000100000000000000AA.json'), '{"format":1');
    const r = await expirePgArchive(ctx, { prune: false });
    assert.deepEqual(
      r.restore_points.expired.map((p) => p.name),
      ['gone'],
    );
    assert.equal(r.restore_points.kept, 1);
    assert.equal(r.warnings.length, 2, r.warnings.join('\n'));
    assert.match(r.warnings.join('\n'), /Restore point record pg\/restore-point\/0000000100000000000000AA\.json cannot be read .*left as it is/);
    assert.match(r.warnings.join('\n'), /Restore point odd records "not-an-lsn", which is not a WAL location: it is kept/);
    assert.ok(readFileSync(join(sb.repo, 'pg', 'restore-point', '0000000100000000000000AA.json')).length > 0, 'the damaged record is left');
    assert.ok(readFileSync(join(sb.repo, 'pg', 'restore-point', '00000001FFFFFFFFFFFFFFFF.json')).length > 0);
  });

  it('a damaged pg/ record stops cleanup before anything changes', async () => {
    await createBackup(ctx, { type: 'full' });
    await archive(seg(1, 1), 1);
    mkdirSync(join(sb.repo, 'pg', 'base'));
    writeFileSync(join(sb.repo, 'pg', 'base', 'pgbase_20261201_020000.json'), '{"format":1');
    const before = sizeListing(sb.repo);
    await assert.rejects(cleanupBackups(ctx, {}), (e: PrismError) => e.code === 'REPO_CORRUPT' && /pg\/base\/pgbase_20261201_020000\.json/.test(e.message));
    await assert.rejects(expirePgArchive(ctx, {}), (e: PrismError) => e.code === 'REPO_CORRUPT');
    assert.deepEqual(sizeListing(sb.repo), before);
  });
});
