import assert from 'node:assert/strict';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { json } from '../testing/fixtures.js';
import {
  asPostgres,
  freePort,
  pitrSuite,
  query,
  readLog,
  startArchivingCluster,
  switchAndWaitArchived,
  targetAfterLastCommit,
  until,
} from '../testing/pg-cluster.js';

interface RestoreReport {
  base_backup: string;
  timeline: number;
  recovery_target_timeline: string;
  archive_mode: string;
  type: string;
  target: { kind: string; action: string | null };
  warnings: string[];
}

describe('PostgreSQL restore: timelines, recovery targets, archive mode, standby', () => {
  const s = pitrSuite('prism-pgtl-');
  const run = s.run;
  const sql = <T = Record<string, unknown>>(q: string) => query<T>(s.port, q);

  /** Starts a restored data directory (on the suite's port: the original's postgresql.conf) and returns its log's path. */
  const start = (dir: string, name: string): string => {
    s.clusters.push(dir);
    const log = join(s.root, `${name}.log`);
    const r = asPostgres('pg_ctl', ['-D', dir, '-l', log, '-w', '-t', '90', 'start'], s.env);
    assert.equal(r.code, 0, r.stderr + readLog(log));
    return log;
  };
  const stop = (dir: string) => assert.equal(asPostgres('pg_ctl', ['-D', dir, '-m', 'fast', '-w', 'stop']).code, 0);
  const promoted = () =>
    until('promotion after recovery', async () => {
      const [{ r }] = await sql<{ r: boolean }>('SELECT pg_is_in_recovery() AS r');
      return r === false ? true : undefined;
    });
  const ids = async () => (await sql<{ id: number }>('SELECT id FROM t ORDER BY id')).map((r) => r.id);
  const restore = (args: string[]) => {
    const r = run(['pg', 'restore', ...args, '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    return json<RestoreReport>(r);
  };
  const walNames = () => json<{ wal: Array<{ name: string }> }>(run(['pg', 'wal', 'list', '--json'])).wal.map((w) => w.name);

  const state = { a: '', b1: '', b2: '' };

  it('a time on timeline 1 after a restored cluster forked timeline 2 into the archive recovers timeline 1; targets by name, xid, LSN; archive mode', async () => {
    const a = (state.a = startArchivingCluster(s.root, s.port, s.env));
    s.clusters.push(a);
    const url = `postgres://postgres@127.0.0.1:${s.port}/postgres`;
    const base = run(['pg', 'basebackup', '--url', url, '--json']);
    assert.equal(base.code, 0, base.stderr + base.stdout);
    const b1 = (state.b1 = json<{ id: string; next_xid: string }>(base).id);
    assert.match(json<{ next_xid: string }>(base).next_xid, /^\d+$/);
    await sql('CREATE TABLE t (id int PRIMARY KEY)');
    await sql('INSERT INTO t VALUES (1)');
    const [{ lsn: lsn1 }] = await sql<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    const fork = await targetAfterLastCommit(s.port);
    const rp = run(['pg', 'restore-point', 'before 2', '--url', url, '--json']);
    assert.equal(rp.code, 0, rp.stderr + rp.stdout);
    assert.equal(json<{ timeline: number }>(rp).timeline, 1);
    const [{ x: x2 }] = await sql<{ x: string }>('INSERT INTO t VALUES (2) RETURNING txid_current()::text AS x');
    const [{ lsn: lsn2 }] = await sql<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    const t1 = await targetAfterLastCommit(s.port);
    await sql('INSERT INTO t VALUES (3)');
    await switchAndWaitArchived(s.port);
    stop(a);

    // a recovered copy of the cluster (to `fork`) archives its timeline 2 into the same repository (--archive-mode preserve)
    const b = join(s.root, 'b');
    const rb = restore(['--at', fork.toISOString(), '--data-dir', b, '--archive-mode', 'preserve']);
    assert.equal(rb.timeline, 1);
    assert.equal(rb.archive_mode, 'preserve');
    start(b, 'b');
    await promoted();
    assert.deepEqual(await ids(), [1]);
    await sql('INSERT INTO t VALUES (10)');
    const base2 = run(['pg', 'basebackup', '--url', url, '--json']);
    assert.equal(base2.code, 0, base2.stderr + base2.stdout);
    const b2 = (state.b2 = json<{ id: string; timeline: number }>(base2).id);
    assert.equal(json<{ timeline: number }>(base2).timeline, 2);
    await sql('INSERT INTO t VALUES (11)');
    const [{ lsn: lsnB }] = await sql<{ lsn: string }>('SELECT pg_current_wal_insert_lsn()::text AS lsn');
    await switchAndWaitArchived(s.port);
    await until('timeline 2 archived', async () => (walNames().includes('00000002.history') ? true : undefined));
    assert.ok(
      walNames().some((n) => /^00000002[0-9A-F]{16}$/.test(n)),
      'preserve: the restored cluster archives its WAL here',
    );
    stop(b);

    // t1 is on timeline 1, after the point where timeline 2 left it, and before timeline 2 began
    const c = join(s.root, 'c');
    const rc = restore(['--at', t1.toISOString(), '--data-dir', c]);
    assert.equal(rc.timeline, 1);
    assert.equal(rc.base_backup, b1, 'not the base backup of timeline 2');
    assert.equal(rc.archive_mode, 'off');
    assert.match(readFileSync(join(c, 'postgresql.auto.conf'), 'utf8'), /recovery_target_timeline = '1'\narchive_mode = off\n/);
    const log = start(c, 'c');
    await promoted();
    assert.deepEqual(await ids(), [1, 2], readLog(log));
    // --archive-mode off (the default): the promoted cluster (timeline 3) archives nothing here
    assert.deepEqual(await sql('SHOW archive_mode'), [{ archive_mode: 'off' }]);
    const [{ seg }] = await sql<{ seg: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS seg');
    assert.equal(seg.slice(0, 8), '00000003');
    await new Promise((r) => setTimeout(r, 2000));
    assert.deepEqual(
      walNames().filter((n) => n.startsWith('00000003')),
      [],
    );
    stop(c);

    // without a target: the end of the newest timeline, from its own base backup; --at now: timeline 2 as well
    const dry = (args: string[]) => {
      const dir = join(s.root, `dry-${Math.random().toString(36).slice(2)}`);
      const r = restore([...args, '--data-dir', dir]);
      return { r, conf: readFileSync(join(dir, 'postgresql.auto.conf'), 'utf8') };
    };
    const end = dry([]);
    assert.deepEqual([end.r.timeline, end.r.base_backup, end.r.recovery_target_timeline], [2, b2, 'latest']);
    assert.match(end.r.warnings.join('\n'), /The archive holds timelines 1, 2: recovery follows 2, the newest/);
    assert.doesNotMatch(end.conf, /^recovery_target_(time|lsn|xid|name|action) /m);
    assert.match(
      end.conf,
      /^# recovery_target_time = .* \(replaced by prism pg restore below\)$/m,
      "the settings of the restore that made timeline 2's cluster",
    );
    const now = dry(['--at', 'now']);
    assert.deepEqual([now.r.timeline, now.r.base_backup], [2, b2]);
    const one = dry(['--at', 'now', '--target-timeline', '1']);
    assert.deepEqual([one.r.timeline, one.r.base_backup], [1, b1]);
    assert.match(one.conf, /recovery_target_timeline = '1'/);
    // an LSN before timeline 2 left timeline 1 is timeline 1's; one past timeline 1's archive (which ended before timeline 2 began), timeline 2's
    const early = dry(['--target-lsn', lsn1]);
    assert.deepEqual([early.r.timeline, early.r.recovery_target_timeline, early.r.base_backup, early.r.warnings], [1, '1', b1, []]);
    const onTwo = dry(['--target-lsn', lsnB]);
    assert.deepEqual([onTwo.r.timeline, onTwo.r.recovery_target_timeline, onTwo.r.base_backup, onTwo.r.warnings], [2, '2', b2, []]);
    // transaction 2 committed on timeline 1 after the fork, and timeline 2 went on from the same ids: ambiguous, the warning says so
    const xid = dry(['--target-xid', x2]);
    assert.equal(xid.r.timeline, 2);
    assert.match(xid.r.warnings.join('\n'), new RegExp(`Transaction ${x2} may be on timelines 1, 2 .*--target-timeline N`));

    const refused = (args: string[], message: RegExp) => {
      const r = run(['pg', 'restore', '--data-dir', join(s.root, 'refused'), ...args]);
      assert.equal(r.code, 2, r.stderr + r.stdout);
      assert.match(r.stderr, message);
    };
    refused(['--target-timeline', '7'], /ERR_PRISM_ARGS.*timeline 7 is not in the archive \(it holds timelines 1, 2\)/);
    refused(['--target-timeline', 'newest'], /--target-timeline newest: give a timeline number/);
    refused(['--target-lsn', '3000148'], /--target-lsn 3000148 is not a WAL location.*e\.g\. 0\/3000148/);
    refused(['--target-xid', 'abc'], /--target-xid abc is not a transaction id/);
    refused(['--at', 'now', '--target-name', 'before 2'], /Give one recovery target, not --at and --target-name/);
    refused(['--target-name', 'nope'], /no restore point of that name \(it has: before 2;/);
    refused(['--target-timeline', '1', '--base', b2], /--base pgbase_\S+ was taken on timeline 2, which timeline 1 does not pass through/);
    refused(['--target-action', 'stop', '--at', 'now'], /--target-action stop: give one of pause, promote, shutdown/);
    refused(['--type', 'standby'], /--type standby needs the primary/);
    const again = run(['pg', 'restore-point', 'before 2', '--url', url]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /A restore point named before 2 exists/);

    // a restore point, then pause: the cluster stays in recovery, paused, just before row 2
    const d = join(s.root, 'd');
    const rd = restore(['--target-name', 'before 2', '--target-action', 'pause', '--data-dir', d]);
    assert.deepEqual([rd.timeline, rd.base_backup, rd.target.kind, rd.target.action], [1, b1, 'name', 'pause']);
    const logD = start(d, 'd');
    await until('recovery paused at the restore point', async () => {
      const [r] = await sql<{ state: string }>('SELECT pg_get_wal_replay_pause_state() AS state');
      return r?.state === 'paused' ? true : undefined;
    });
    assert.deepEqual(await sql('SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
    assert.deepEqual(await ids(), [1]);
    assert.match(readLog(logD), /recovery stopping at restore point "before 2"/);
    stop(d);

    // a transaction, exclusive: the state just before it committed
    const e = join(s.root, 'e');
    // (the transaction committed on timeline 1 after timeline 2 left it: the default, the newest of the two, would never reach it)
    const re = restore(['--target-xid', x2, '--target-exclusive', '--target-timeline', 'current', '--data-dir', e]);
    assert.deepEqual([re.timeline, re.recovery_target_timeline, re.base_backup], [1, 'current', b1], 'the base backup of timeline 1, before the transaction');
    const logE = start(e, 'e');
    await promoted().catch((err: Error) => assert.fail(`${err.message}\n${readLog(logE)}`));
    assert.deepEqual(await ids(), [1], readLog(logE));
    assert.match(readLog(logE), new RegExp(`recovery stopping before commit of transaction ${x2}`));
    stop(e);

    // a WAL location on timeline 1, then shut down
    const f = join(s.root, 'f');
    const rf = restore(['--target-lsn', lsn2, '--target-timeline', '1', '--target-action', 'shutdown', '--data-dir', f]);
    assert.deepEqual([rf.timeline, rf.base_backup], [1, b1]);
    s.clusters.push(f);
    const logF = join(s.root, 'f.log');
    asPostgres('pg_ctl', ['-D', f, '-l', logF, '-W', 'start'], s.env);
    await until(
      'shutdown at the target',
      async () => (/recovery stopping after WAL location \(LSN\)/.test(readLog(logF)) && !existsSync(join(f, 'postmaster.pid')) ? true : undefined),
      90_000,
    );
    assert.match(readLog(logF), /database system is shut down/);
  });
  it("--type standby: a streaming replica of the primary from a base backup, held to the primary's timeline", async () => {
    const a = state.a;
    const log = join(s.root, 'a2.log');
    const up = asPostgres('pg_ctl', ['-D', a, '-l', log, '-w', 'start'], s.env);
    assert.equal(up.code, 0, up.stderr + readLog(log));
    await sql('INSERT INTO t VALUES (20)');
    const url = `postgres://postgres@127.0.0.1:${s.port}/postgres`;
    const dir = join(s.root, 'standby');
    const r = restore(['--type', 'standby', '--primary-url', url, '--data-dir', dir]);
    assert.deepEqual([r.type, r.timeline, r.recovery_target_timeline, r.base_backup, r.target.kind], ['standby', 1, '1', state.b1, 'end']);
    assert.match(r.warnings.join('\n'), /The archive holds timelines newer than the primary's \(1\)/);
    const conf = readFileSync(join(dir, 'postgresql.auto.conf'), 'utf8');
    assert.ok(conf.includes(`\nprimary_conninfo = 'host=''127.0.0.1'' port=''${s.port}'' user=''postgres'' dbname=''postgres'''\n`), conf);
    assert.match(conf, /^restore_command = '.*(?: pg|\/prism-wal) restore-wal %f %p --repo .*'$/m);
    assert.doesNotMatch(conf, /^recovery_target_(time|lsn|xid|name|action) /m);
    assert.ok(existsSync(join(dir, 'standby.signal')));
    assert.ok(!existsSync(join(dir, 'recovery.signal')));
    const port2 = await freePort();
    appendFileSync(join(dir, 'postgresql.auto.conf'), `port = ${port2}\n`);
    const logS = start(dir, 'standby');
    await sql('INSERT INTO t VALUES (21)');
    const rows = await until('the standby to replay row 21', async () => {
      const got = (await query<{ id: number }>(port2, 'SELECT id FROM t ORDER BY id')).map((x) => x.id);
      return got.includes(21) ? got : undefined;
    }).catch((err: Error) => assert.fail(`${err.message}\n${readLog(logS)}`));
    assert.deepEqual(rows, [1, 2, 3, 20, 21]);
    assert.deepEqual(await query(port2, 'SELECT pg_is_in_recovery() AS r'), [{ r: true }]);
    assert.deepEqual(await query(port2, 'SELECT status FROM pg_stat_wal_receiver'), [{ status: 'streaming' }]);
  });
});
