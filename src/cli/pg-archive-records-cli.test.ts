import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { CopyReport } from '../app/copies/copy-backups.js';
import { openRepository, type AppContext } from '../app/context.js';
import { compressionSettings } from '../app/backups/create-backup.js';
import { storeStream } from '../app/pitr/blob-store.js';
import { archiveWal } from '../app/pitr/postgres/pg-archive-wal.js';
import { putBaseRecord, putRestorePointRecord, restorePointKey, type BaseRecord, type RestorePointRecord } from '../app/pitr/postgres/pg-records.js';
import type { PgExpireReport, PruneReport } from '../app/index.js';
import { FixedClock } from '../core/clock.js';
import { parseLsn } from '../source/postgres/pg-wal-name.js';
import { appContext, json, prism, prngBytes, sandbox, type CliResult, type Sandbox } from '../testing/fixtures.js';

const NOW = new Date('2026-12-10T12:00:00Z');
const DAY = 86_400_000;
const SYSTEM = '7300000000000000001';
const seg = (tl: number, n: number) => `${tl.toString(16).toUpperCase().padStart(8, '0')}${'0'.repeat(8)}${n.toString(16).toUpperCase().padStart(8, '0')}`;
const lsnOf = (segment: number, offset: number) => `0/${((segment << 20) + offset).toString(16).toUpperCase()}`;

interface WalList {
  base_backups: Array<{ id: string }>;
  wal: Array<{ name: string }>;
  timelines: unknown[];
  restore_points: unknown[];
}
interface Restore {
  base_backup: string;
  timeline: number;
  recovery_target_timeline: string;
  timeline_reason: string;
  restore_command: string;
  warnings: string[];
}

/**
 * The PostgreSQL archive's records without a cluster: timelines 1 and 2 (a history file and
 * 1 MiB segments), base backups whose data is a small tar naming them, and restore points, as
 * `pg archive-wal`, `pg basebackup` and `pg restore-point` write them. `pg restore` only
 * unpacks and configures, so what it chooses is checked on the data directory it prepares.
 */
describe('PostgreSQL restore points and timelines in wal list, pg expire and a copy (no cluster)', () => {
  let sb: Sandbox;
  let ctx: AppContext;
  let copyDir: string;
  const cli = (args: string[]): CliResult => prism(args, sb.env);
  const ok = (args: string[]): CliResult => {
    const r = cli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };

  /** Archives a WAL file through `pg archive-wal`, `daysAgo`. */
  const archive = async (name: string, data: Buffer, daysAgo: number) => {
    writeFileSync(join(sb.root, name), data);
    await archiveWal(appContext(sb, {}, new FixedClock(new Date(NOW.getTime() - daysAgo * DAY))), join(sb.root, name));
  };
  /** A base backup record whose data is a tar of PG_VERSION and `which` (its id). */
  const baseBackup = async (id: string, daysAgo: number, timeline: number, segment: number): Promise<BaseRecord> => {
    const dir = join(sb.root, `tar-${id}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'PG_VERSION'), '15\n');
    writeFileSync(join(dir, 'which'), id);
    const tar = execFileSync('tar', ['-c', '-f', '-', '-C', dir, 'PG_VERSION', 'which']);
    const repo = await openRepository(ctx);
    const stored = await storeStream(repo, Readable.from([tar]), compressionSettings(ctx));
    const finished = new Date(NOW.getTime() - daysAgo * DAY);
    const record: BaseRecord = {
      format: 1,
      id,
      started_at: new Date(finished.getTime() - 60_000).toISOString(),
      finished_at: finished.toISOString(),
      server: { version: '15.10', system_identifier: SYSTEM, wal_segment_size: 1 << 20 },
      timeline,
      start_lsn: lsnOf(segment, 0x28),
      stop_lsn: lsnOf(segment, 0x100),
      start_wal: seg(timeline, segment),
      stop_wal: seg(timeline, segment),
      size: stored.size,
      sha256: stored.sha256,
      content: stored.content,
      label: '',
      next_xid: String(1000 * segment),
    };
    assert.ok(await putBaseRecord(await openRepository(ctx), record));
    return record;
  };
  const restorePoint = async (name: string, timeline: number, lsn: string, daysAgo: number): Promise<RestorePointRecord> => {
    const r: RestorePointRecord = {
      format: 1,
      name,
      lsn,
      timeline,
      created_at: new Date(NOW.getTime() - daysAgo * DAY).toISOString(),
      system_identifier: SYSTEM,
    };
    assert.ok(await putRestorePointRecord(await openRepository(ctx), r, restorePointKey(timeline, parseLsn(lsn))));
    return r;
  };

  let a: BaseRecord, b: BaseRecord, c: BaseRecord;
  let upgrade: RestorePointRecord, fork: RestorePointRecord;

  before(async () => {
    sb = sandbox();
    copyDir = join(sb.root, 'second-disk');
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: {
          copies: [{ name: 'second-disk', repository: copyDir }],
          retention_policy: { pg_base_backups_count: 1, pg_base_backups_age_days: 0 },
        },
      }),
    );
    ctx = appContext(sb, {}, new FixedClock(NOW));
    // timeline 1: segments 1 to 6 (archived until 8 days ago), base backups in segments 2 and 3; timeline 2 left it at 0/400100
    // (begun 5 days ago, after timeline 1 fell silent) and has segments 4 to 7, a base backup in 6
    for (let n = 1; n <= 6; n++) await archive(seg(1, n), prngBytes(1 << 20, n), 8);
    await archive('00000002.history', Buffer.from('1\t0/400100\tbefore 2026-12-01 10:00:00+00\n'), 5);
    for (let n = 4; n <= 7; n++) await archive(seg(2, n), prngBytes(1 << 20, 100 + n), 4);
    a = await baseBackup('pgbase_20261130_020000', 10, 1, 2);
    b = await baseBackup('pgbase_20261201_020000', 9, 1, 3);
    c = await baseBackup('pgbase_20261207_020000', 3, 2, 6);
    upgrade = await restorePoint('before upgrade', 1, lsnOf(2, 0x80000), 9);
    fork = await restorePoint('after-fork', 2, lsnOf(6, 0x200), 2);
  });
  after(() => sb?.cleanup());

  it('pg wal list shows the timelines (parent, switch LSN, segments) and the restore points, in --json and as text', () => {
    const r = json<WalList>(ok(['pg', 'wal', 'list', '--json']));
    // the fields that were there stay as they were
    assert.deepEqual(
      r.base_backups.map((x) => x.id),
      [a.id, b.id, c.id],
    );
    assert.equal(r.wal.length, 11);
    assert.deepEqual(r.timelines, [
      {
        timeline: 1,
        parent: null,
        switch_lsn: null,
        history: false,
        segments: 6,
        first_segment: seg(1, 1),
        last_segment: seg(1, 6),
        last_archived_at: '2026-12-02T12:00:00.000Z',
      },
      {
        timeline: 2,
        parent: 1,
        switch_lsn: '0/400100',
        history: true,
        segments: 4,
        first_segment: seg(2, 4),
        last_segment: seg(2, 7),
        last_archived_at: '2026-12-06T12:00:00.000Z',
      },
    ]);
    assert.deepEqual(r.restore_points, [
      { name: 'before upgrade', lsn: '0/280000', timeline: 1, created_at: upgrade.created_at },
      { name: 'after-fork', lsn: '0/600200', timeline: 2, created_at: fork.created_at },
    ]);
    const text = ok(['pg', 'wal', 'list']).stdout;
    assert.match(
      text,
      /^Timelines: 2\ntimeline +parent +switch lsn +segments +first segment +last segment +last archived\n1 +- +- +6 +000000010000000000000001 +000000010000000000000006 +2026-12-02T12:00:00\.000Z\n2 +1 +0\/400100 +4 +000000020000000000000004 +000000020000000000000007 +2026-12-06T12:00:00\.000Z\n/m,
    );
    assert.match(
      text,
      /^Restore points: 2\nname +lsn +timeline +created\nbefore upgrade +0\/280000 +1 +2026-12-01T12:00:00\.000Z\nafter-fork +0\/600200 +2 +2026-12-08T12:00:00\.000Z\nWAL files: 11\n/m,
    );
  });

  it('backup copy carries the restore points; pg restore --repo COPY --target-name chooses the base backup and timeline from them', async () => {
    const copied = json<CopyReport>(ok(['backup', 'copy', '--all', '--json']));
    assert.equal(copied.copy, 'second-disk');
    for (const p of [upgrade, fork]) {
      const name = join('pg', 'restore-point', `${restorePointKey(p.timeline, parseLsn(p.lsn))}.json`);
      assert.deepEqual(readFileSync(join(copyDir, name)), readFileSync(join(sb.repo, name)), name);
    }
    assert.deepEqual(
      json<Array<{ name: string }>>(ok(['pg', 'restore-points', '--repo', 'second-disk', '--json'])).map((p) => p.name),
      ['before upgrade', 'after-fork'],
    );

    // the primary is out of the way: everything comes from the copy
    const saved = `${sb.repo}-saved`;
    renameSync(sb.repo, saved);
    const restore = (name: string, dir: string) => {
      const r = json<Restore>(ok(['pg', 'restore', '--repo', 'second-disk', '--target-name', name, '--data-dir', join(sb.root, dir), '--json']));
      const conf = readFileSync(join(sb.root, dir, 'postgresql.auto.conf'), 'utf8');
      return { r, conf, which: readFileSync(join(sb.root, dir, 'which'), 'utf8') };
    };
    // on timeline 1 between base backups a and b: a, timeline 1 (not the newest, 2)
    const one = restore('before upgrade', 'one');
    assert.deepEqual([one.r.base_backup, one.which, one.r.timeline, one.r.recovery_target_timeline], [a.id, a.id, 1, '1']);
    assert.equal(one.r.timeline_reason, "the restore point's timeline");
    assert.deepEqual(one.r.warnings, []);
    assert.match(one.conf, /^recovery_target_name = 'before upgrade'$/m);
    assert.match(
      one.conf,
      new RegExp(`^restore_command = '.*(?: pg|/prism-wal) restore-wal %f %p --repo ${copyDir.replace(/[/.]/g, '\\$&')}'$`, 'm'),
      'WAL from the copy',
    );
    // on timeline 2 after base backup c: c
    const two = restore('after-fork', 'two');
    assert.deepEqual([two.r.base_backup, two.which, two.r.timeline, two.r.recovery_target_timeline], [c.id, c.id, 2, '2']);
    renameSync(saved, sb.repo);

    // a point recorded later reaches the copy with the next copy
    const late = join('pg', 'restore-point', `${restorePointKey(2, parseLsn('0/700010'))}.json`);
    await restorePoint('later', 2, '0/700010', 1);
    ok(['backup', 'copy', '--all']);
    assert.deepEqual(readFileSync(join(copyDir, late)), readFileSync(join(sb.repo, late)));
  });

  it('pg restore --target-lsn follows the timeline that holds the LSN: below the switch point timeline 1, past timeline 1’s last segment timeline 2', () => {
    const restore = (args: string[], dir: string) => json<Restore>(ok(['pg', 'restore', ...args, '--data-dir', join(sb.root, dir), '--json']));
    const below = restore(['--target-lsn', lsnOf(3, 0x10)], 'lsn-below');
    assert.deepEqual([below.timeline, below.recovery_target_timeline, below.base_backup], [1, '1', a.id]);
    assert.match(below.timeline_reason, /the timeline that holds 0\/300010/);
    assert.deepEqual(below.warnings, []);
    const past = restore(['--target-lsn', lsnOf(7, 0x10)], 'lsn-past');
    assert.deepEqual([past.timeline, past.recovery_target_timeline, past.base_backup], [2, '2', c.id]);
    assert.deepEqual(past.warnings, []);
    // segment 5: both timelines archived one, on either side of the fork
    const both = restore(['--target-lsn', lsnOf(5, 0x200)], 'lsn-both');
    assert.deepEqual([both.timeline, both.base_backup], [2, b.id]);
    assert.match(both.warnings.join('\n'), /LSN 0\/500200 may be on timelines 1, 2 .*--target-timeline N/);
    // transaction 2500 is below the next id base backup b recorded (3000) before timeline 2 left timeline 1: timeline 1's
    const early = restore(['--target-xid', '2500'], 'xid-early');
    assert.deepEqual([early.timeline, early.recovery_target_timeline, early.base_backup], [1, '1', a.id]);
    assert.deepEqual(early.warnings, []);
    const later = restore(['--target-xid', '3500'], 'xid-later');
    assert.deepEqual([later.timeline, later.base_backup], [2, b.id]);
    assert.match(later.warnings.join('\n'), /Transaction 3500 may be on timelines 1, 2/);
  });

  it('pg expire removes the restore points no kept base backup ended before, says so in --dry-run, --json and text', () => {
    const dry = json<PgExpireReport & { prune: PruneReport | null }>(ok(['pg', 'expire', '--dry-run', '--json']));
    assert.deepEqual(dry.removed_base_backups, [b.id, a.id]);
    assert.deepEqual(dry.restore_points, {
      kept: 2,
      expired: [{ name: 'before upgrade', lsn: '0/280000', timeline: 1, created_at: upgrade.created_at }],
    });
    const text = ok(['pg', 'expire', '--dry-run']).stdout;
    assert.match(
      text,
      /^ {2}Restore points that would expire \(no kept base backup ended before them: recovery cannot reach them\): 1; 2 kept\n {2}WOULD REMOVE +LSN +TIMELINE +CREATED\n {2}before upgrade +0\/280000 +1 +2026-12-01T12:00:00\.000Z$/m,
    );
    assert.equal(json<WalList>(ok(['pg', 'wal', 'list', '--json'])).restore_points.length, 3, 'the dry run removed nothing');
    const done = ok(['pg', 'expire']).stdout;
    assert.match(done, /^ {2}Restore points expired \(.*\): 1; 2 kept\n {2}REMOVED +LSN/m);
    assert.deepEqual(
      (json<WalList>(ok(['pg', 'wal', 'list', '--json'])).restore_points as Array<{ name: string }>).map((p) => p.name),
      ['after-fork', 'later'],
    );
    const gone = cli(['pg', 'restore', '--target-name', 'before upgrade', '--data-dir', join(sb.root, 'never')]);
    assert.equal(gone.code, 2, gone.stderr);
    assert.match(gone.stderr, /no restore point of that name \(it has: after-fork, later;/);
  });
});
