import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { systemClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { runJob } from '../daemon/job-runner.js';
import { pgBaseBackupJob } from '../daemon/pg-jobs.js';
import { compileSchedule } from '../daemon/schedule.js';
import { PRISM_BIN, appContext, json, prism, prngBytes, sandbox } from '../testing/fixtures.js';
import { TEST_PASSWORD } from '../testing/encrypted.js';
import {
  asPostgres,
  pitrSuite,
  startArchivingCluster,
  pgUser,
  query,
  readLog,
  switchAndWaitArchived,
  targetAfterLastCommit,
  until,
} from '../testing/pg-cluster.js';

describe('PostgreSQL point-in-time recovery through the repository', () => {
  const s = pitrSuite('prism-pitr-');
  const as = { uid: pgUser.uid, gid: pgUser.gid };
  const run = s.run;

  it('archives WAL, takes a base backup, and recovers exactly the rows up to a time between two commits', async () => {
    const data = startArchivingCluster(s.root, s.port, s.env);
    s.clusters.push(data);

    const base = run(['pg', 'basebackup', '--url', `postgres://postgres@127.0.0.1:${s.port}/postgres`, '--json']);
    assert.equal(base.code, 0, base.stderr + base.stdout);
    const rec = json<{ id: string; start_wal: string; stop_wal: string; size: number; warnings: string[] }>(base);
    assert.deepEqual(rec.warnings, [], 'its WAL is in this repository');
    assert.match(rec.id, /^pgbase_\d{8}_\d{6}$/);
    assert.ok(rec.size > 1024 * 1024);

    await query(s.port, 'CREATE TABLE t (id int PRIMARY KEY, note text)');
    await query(s.port, "INSERT INTO t VALUES (1, 't1')");
    await switchAndWaitArchived(s.port);
    await query(s.port, "INSERT INTO t VALUES (2, 't2')");
    // the target: a moment after row 2's commit (rounded up to the millisecond) and before row 3's
    const target = await targetAfterLastCommit(s.port);
    await query(s.port, "INSERT INTO t VALUES (3, 't3')");
    const last = await switchAndWaitArchived(s.port);

    const list = json<{ base_backups: Array<{ id: string }>; wal: Array<{ name: string }> }>(run(['pg', 'wal', 'list', '--json']));
    assert.deepEqual(
      list.base_backups.map((b) => b.id),
      [rec.id],
    );
    assert.ok(
      list.wal.some((w) => w.name === last),
      `${last} archived`,
    );
    assert.ok(list.wal.some((w) => w.name === rec.stop_wal));

    // the service's pg_basebackup job: the cluster of the database marked pitr, with its credentials
    const sb = sandbox();
    try {
      writeFileSync(
        join(sb.home, 'config', 'backup.json'),
        JSON.stringify({ backup: { databases: [{ name: 'cluster', type: 'postgres', url: `postgres://postgres@127.0.0.1:${s.port}/postgres`, pitr: true }] } }),
      );
      const ctx = appContext(sb, {}, systemClock);
      assert.deepEqual(
        compileSchedule(ctx, [pgBaseBackupJob]).map((x) => x.expression),
        ['0 1 * * 0'],
      );
      const { task } = await runJob(ctx, pgBaseBackupJob, { trigger: 'scheduled', signal: new AbortController().signal, log: silentLogger });
      // this sandbox's repository is not where the cluster archives: the base backup is taken, and the task says it is of no use here
      assert.equal(task.status, 'failed', task.message);
      assert.equal(task.error_code, 'ERR_PRISM_PG_ARCHIVE');
      assert.match(
        task.message ?? '',
        /^pgbase_\d{8}_\d{6}: \d+ bytes, WAL [0-9A-F]{24} … [0-9A-F]{24}; The WAL this base backup needs \([0-9A-F]{24}.*\) is not in this repository .*archive_command/,
      );
      const listed = json<{ base_backups: Array<{ id: string }> }>(prism(['pg', 'wal', 'list', '--json'], sb.env));
      assert.deepEqual(
        listed.base_backups.map((b) => b.id),
        [(task.details as { id: string }).id],
      );
      assert.deepEqual(compileSchedule(appContext(sandbox(), {}, systemClock), [pgBaseBackupJob]), [], 'not scheduled without a pitr database');
      assert.equal(prism(['pg', 'basebackup', '--db', 'nope'], sb.env).code, 2);
      assert.equal(prism(['pg', 'basebackup', '--db', 'cluster', '--url', 'postgres://x@h/db'], sb.env).code, 2);
    } finally {
      sb.cleanup();
    }

    // the cluster is lost
    assert.equal(asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).code, 0);
    rmSync(data, { recursive: true, force: true });

    // prune keeps what the archive references (no file backup references any of it)
    const pruned = prism(['backup', 'prune', '--json'], { ...s.env, PRISM_BACKUP_PATH: join(s.root, 'repo') }, as);
    assert.equal(pruned.code, 0, pruned.stderr + pruned.stdout);
    assert.deepEqual(json<{ unusedPacks: string[] }>(pruned).unusedPacks, []);

    const busy = join(s.root, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'x'), 'x');
    chownSync(busy, pgUser.uid, pgUser.gid);
    const refused = run(['pg', 'restore', '--at', target.toISOString(), '--data-dir', busy]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /not empty/);
    const tooEarly = run(['pg', 'restore', '--at', '2001-01-01T00:00:00Z', '--data-dir', join(s.root, 'never')]);
    assert.equal(tooEarly.code, 37);
    assert.match(tooEarly.stderr, /ERR_PRISM_PG_ARCHIVE.*No base backup finished at or before/);

    const recovered = join(s.root, 'recovered');
    const restored = run(['pg', 'restore', '--at', target.toISOString(), '--data-dir', recovered, '--json']);
    assert.equal(restored.code, 0, restored.stderr + restored.stdout);
    const report = json<{ base_backup: string; warnings: string[] }>(restored);
    assert.equal(report.base_backup, rec.id);
    assert.deepEqual(report.warnings, []);
    assert.ok(existsSync(join(recovered, 'recovery.signal')));
    assert.match(
      readFileSync(join(recovered, 'postgresql.auto.conf'), 'utf8'),
      /restore_command = '.*(?: pg|\/prism-wal) restore-wal %f %p --repo .*'\nrecovery_end_command = '.* pg restore-end --repo .*'\nrecovery_target_time = '.*'\nrecovery_target_action = 'promote'/,
    );

    s.clusters.push(recovered);
    const log = join(s.root, 'recovered.log');
    const start2 = asPostgres('pg_ctl', ['-D', recovered, '-l', log, '-w', '-t', '90', 'start'], s.env);
    assert.equal(start2.code, 0, start2.stderr + readLog(log));
    await until('promotion after recovery', async () => {
      const [{ r }] = await query<{ r: boolean }>(s.port, 'SELECT pg_is_in_recovery() AS r');
      return r === false ? true : undefined;
    });
    const rows = await query<{ id: number; note: string }>(s.port, 'SELECT id, note FROM t ORDER BY id');
    assert.deepEqual(
      rows.map((r) => [r.id, r.note]),
      [
        [1, 't1'],
        [2, 't2'],
      ],
      readLog(log),
    );
    assert.match(readLog(log), /recovery stopping before commit of transaction/);
  });

  it('archive-wal and restore-wal: idempotent, refuse damage and partial segments, exit non-zero when absent (quietly for a history file)', () => {
    const dir = join(s.root, 'wal-cases');
    mkdirSync(dir, { recursive: true });
    chownSync(dir, pgUser.uid, pgUser.gid);
    const seg = join(dir, '0000000900000000000000A1');
    writeFileSync(seg, Buffer.alloc(1 << 20, 7));
    chownSync(seg, pgUser.uid, pgUser.gid);
    assert.equal(run(['pg', 'archive-wal', seg]).code, 0);
    const again = run(['pg', 'archive-wal', seg, '--json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(json<{ stored: string }>(again).stored, 'already archived');
    writeFileSync(seg, Buffer.alloc(1 << 20, 8));
    const conflict = run(['pg', 'archive-wal', seg]);
    assert.equal(conflict.code, 37);
    assert.match(conflict.stderr, /already archived with different content/);

    const short = join(dir, '0000000900000000000000A2');
    writeFileSync(short, Buffer.alloc(1000));
    chownSync(short, pgUser.uid, pgUser.gid);
    const partial = run(['pg', 'archive-wal', short]);
    assert.equal(partial.code, 37);
    assert.match(partial.stderr, /not a whole WAL segment/);
    assert.equal(run(['pg', 'archive-wal', join(dir, 'not-a-wal-file')]).code, 37);
    assert.equal(run(['pg', 'archive-wal', join(dir, '0000000900000000000000A3')]).code, 37); // missing

    const fetched = join(dir, 'RECOVERYXLOG');
    assert.equal(run(['pg', 'restore-wal', '0000000900000000000000A1', fetched]).code, 0);
    assert.deepEqual(readFileSync(fetched), Buffer.alloc(1 << 20, 7));
    const absent = run(['pg', 'restore-wal', '0000000900000000000000FF', join(dir, 'RECOVERYXLOG2')]);
    assert.equal(absent.code, 37);
    assert.match(absent.stderr, /ERR_PRISM_PG_ARCHIVE.*0000000900000000000000FF is not in the WAL archive/);
    assert.equal(existsSync(join(dir, 'RECOVERYXLOG2')), false);
    // PostgreSQL asks for the history file of each next timeline to learn there is none: not an error to print
    const probe = run(['pg', 'restore-wal', '0000000A.history', join(dir, 'RECOVERYHISTORY')]);
    assert.equal(probe.code, 37);
    assert.equal(probe.stderr + probe.stdout, '');
    assert.equal(prism(['pg', 'wal', 'list', '--repo', join(s.root, 'no-repo')], s.env).code, 7);
    const two = prism(['pg', 'restore', '--data-dir', join(s.root, 'x'), '--at', 'now', '--target-lsn', '0/3000000'], s.env);
    assert.equal(two.code, 2);
    assert.match(two.stderr, /ERR_PRISM_ARGS.*Give one recovery target, not --at and --target-lsn/);
    const down = prism(['pg', 'basebackup', '--url', 'postgres://postgres@127.0.0.1:9/postgres', '--repo', join(s.root, 'repo')], s.env);
    assert.equal(down.code, 30, down.stderr);
    assert.match(down.stderr, /ERR_PRISM_DB_UNREACHABLE.*postgres:\/\/postgres@127\.0\.0\.1:9\/postgres is unreachable/);
  });
});

describe('PostgreSQL WAL archiving ahead and fetching ahead (the spool)', () => {
  const s = pitrSuite('prism-walspool-');
  const run = s.run;
  const log = () => readLog(join(s.root, 'home', 'logs', 'pg.log'));
  const events = (event: string) =>
    log()
      .split('\n')
      .filter((l) => l.includes(`"event":"${event}"`)).length;

  it('a busy cluster: the other ready segments are pushed ahead, and recovery to a time is served from segments fetched ahead', async () => {
    // 1 MiB segments: a few MB of rows make dozens of them
    const data = startArchivingCluster(s.root, s.port, s.env, ['--wal-segsize=1']);
    s.clusters.push(data);
    const base = run(['pg', 'basebackup', '--url', `postgres://postgres@127.0.0.1:${s.port}/postgres`, '--json']);
    assert.equal(base.code, 0, base.stderr + base.stdout);
    await query(s.port, 'CREATE TABLE t (id int, note text)');
    await query(s.port, 'INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 300000) g');
    const target = await targetAfterLastCommit(s.port);
    await query(s.port, "INSERT INTO t VALUES (-1, 'after the target')");
    const last = await switchAndWaitArchived(s.port);
    const [{ failed }] = await query<{ failed: string }>(s.port, 'SELECT failed_count::text AS failed FROM pg_stat_archiver');
    assert.equal(failed, '0');
    assert.ok(events('pg.wal.pushed') > 0, 'segments pushed ahead by the background push');
    // the archive holds every segment from the base backup's on, none missing
    const wal = json<{ wal: Array<{ name: string }> }>(run(['pg', 'wal', 'list', '--json']))
      .wal.map((w) => w.name)
      .filter((n) => /^[0-9A-F]{24}$/.test(n));
    const first = json<{ start_wal: string }>(base).start_wal;
    const names = wal.filter((n) => n >= first && n <= last);
    assert.ok(names.length > 20, `${names.length} segments`);
    for (let i = 1; i < names.length; i++)
      assert.equal(parseInt(names[i]!.slice(8), 16), parseInt(names[i - 1]!.slice(8), 16) + 1, `${names[i]} follows ${names[i - 1]}`);

    assert.equal(asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).code, 0);
    rmSync(data, { recursive: true, force: true });
    const recovered = join(s.root, 'recovered');
    const restored = run(['pg', 'restore', '--at', target.toISOString(), '--data-dir', recovered]);
    assert.equal(restored.code, 0, restored.stderr + restored.stdout);
    s.clusters.push(recovered);
    const pgLog = join(s.root, 'recovered.log');
    const start = asPostgres('pg_ctl', ['-D', recovered, '-l', pgLog, '-w', '-t', '120', 'start'], s.env);
    assert.equal(start.code, 0, start.stderr + readLog(pgLog));
    await until(
      'promotion after recovery',
      async () => {
        const [{ r }] = await query<{ r: boolean }>(s.port, 'SELECT pg_is_in_recovery() AS r');
        return r === false ? true : undefined;
      },
      120_000,
    );
    const [{ n, after }] = await query<{ n: string; after: string }>(
      s.port,
      'SELECT count(*)::text AS n, count(*) FILTER (WHERE id < 0)::text AS after FROM t',
    );
    assert.deepEqual([n, after], ['300000', '0'], readLog(pgLog));
    // the fetch ahead served the recovery (its segments taken by the lean restore-wal, which logs nothing)
    const fetched = log()
      .split('\n')
      .filter((l) => l.includes('"event":"pg.wal.prefetch_end"'))
      .reduce((a, l) => a + (JSON.parse(l) as { fetched: number }).fetched, 0);
    assert.ok(fetched > 10, `${fetched} segments fetched ahead`);
    assert.match(readFileSync(join(recovered, 'postgresql.auto.conf'), 'utf8'), /^recovery_end_command = '.* pg restore-end --repo .*'$/m);
    // recovery_end_command has stopped the fetch and removed its area
    assert.ok(events('pg.wal.restore_end') >= 1, readLog(pgLog));
    const areas = join(s.root, 'home', 'spool', 'pg-restore');
    for (const a of readdirSync(areas)) assert.deepEqual(readdirSync(join(areas, a)), ['stop'], a);
  });

  it('a push killed midway leaves nothing half archived, and the next calls succeed', async () => {
    const sb = sandbox();
    try {
      const walDir = join(sb.root, 'pg_wal');
      mkdirSync(join(walDir, 'archive_status'), { recursive: true });
      const names = Array.from({ length: 24 }, (_, i) => `0000000300000000000000${(0x40 + i).toString(16).toUpperCase()}`);
      for (const [i, n] of names.entries()) {
        writeFileSync(join(walDir, n), prngBytes(4 << 20, 100 + i));
        writeFileSync(join(walDir, 'archive_status', `${n}.ready`), '');
      }
      const push = spawn(process.execPath, [PRISM_BIN, 'pg', 'archive-push', walDir], { env: { ...process.env, ...sb.env }, stdio: 'ignore' });
      const spoolDir = join(sb.home, 'spool', 'pg-archive');
      await until('the push to mark a segment', async () =>
        existsSync(spoolDir) && readdirSync(spoolDir).some((a) => readdirSync(join(spoolDir, a)).some((f) => f.endsWith('.ok'))) ? true : undefined,
      );
      push.kill('SIGKILL');
      await new Promise((r) => push.once('exit', r));
      const listed = json<{ wal: Array<{ name: string }> }>(prism(['pg', 'wal', 'list', '--json'], sb.env)).wal.map((w) => w.name);
      assert.ok(listed.length > 0 && listed.length < names.length, `${listed.length} archived before the kill`);
      // every record there is whole
      for (const n of listed) {
        const out = join(sb.root, 'back');
        assert.equal(prism(['pg', 'restore-wal', n, out, '--prefetch', '0'], sb.env).code, 0, n);
        assert.deepEqual(readFileSync(out), readFileSync(join(walDir, n)), n);
      }
      // PostgreSQL calls archive_command for each: all succeed (the dead push's worker file does not stand in the way)
      for (const n of names) {
        const r = prism(['pg', 'archive-wal', join(walDir, n)], sb.env);
        assert.equal(r.code, 0, r.stderr);
        rmSync(join(walDir, 'archive_status', `${n}.ready`));
      }
      assert.equal(json<{ wal: unknown[] }>(prism(['pg', 'wal', 'list', '--json'], sb.env)).wal.length, names.length);
      const check = prism(['backup', 'verify', '--all'], sb.env);
      assert.equal(check.code, 0, check.stderr + check.stdout);
    } finally {
      sb.cleanup();
    }
  });

  it('a fetch ahead killed midway never has a partial segment served; restore-end stops the one running', async () => {
    const sb = sandbox();
    try {
      const walDir = join(sb.root, 'pg_wal');
      mkdirSync(join(walDir, 'archive_status'), { recursive: true });
      const names = Array.from({ length: 16 }, (_, i) => `0000000400000000000000${(0x40 + i).toString(16).toUpperCase()}`);
      for (const [i, n] of names.entries()) writeFileSync(join(walDir, n), prngBytes(4 << 20, 300 + i));
      for (const n of names) assert.equal(prism(['pg', 'archive-wal', join(walDir, n), '--no-async'], sb.env).code, 0);
      const target = join(sb.root, 'recovering', 'pg_wal');
      mkdirSync(target, { recursive: true });
      const fetch = spawn(process.execPath, [PRISM_BIN, 'pg', 'restore-prefetch', target, names[0]!, '--prefetch', '12'], {
        env: { ...process.env, ...sb.env },
        stdio: 'ignore',
      });
      const spoolDir = join(sb.home, 'spool', 'pg-restore');
      const files = () => (existsSync(spoolDir) ? readdirSync(spoolDir).flatMap((a) => readdirSync(join(spoolDir, a))) : []);
      await until('the fetch to mark a segment', async () => (files().some((f) => f.endsWith('.ok')) ? true : undefined));
      fetch.kill('SIGKILL');
      await new Promise((r) => fetch.once('exit', r));
      const [area] = readdirSync(spoolDir);
      const inArea = readdirSync(join(spoolDir, area!));
      // whatever has a segment's name is whole (a write in progress is under a temporary name)
      for (const f of inArea.filter((f) => /^[0-9A-F]{24}$/.test(f)))
        assert.deepEqual(readFileSync(join(spoolDir, area!, f)), readFileSync(join(walDir, f)), f);
      const marked = inArea.filter((f) => f.endsWith('.ok')).map((f) => f.slice(0, -3));
      assert.ok(marked.length > 0 && marked.length < 12, `${marked.length} marked before the kill`);
      // PostgreSQL's calls: each gets its segment whole, the marked ones from the lean start (no log line), the rest the whole way
      const out = join(target, 'RECOVERYXLOG');
      for (const n of names.slice(1)) {
        const r = prism(['pg', 'restore-wal', n, out, '--prefetch', '2'], sb.env);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(readFileSync(out), readFileSync(join(walDir, n)), n);
      }
      const restoredEvents = readLog(join(sb.home, 'logs', 'pg.log'))
        .split('\n')
        .filter((l) => l.includes('"event":"pg.wal.restored"'));
      for (const n of marked) assert.equal(restoredEvents.filter((l) => l.includes(n)).length, 0, `${n} served by the lean start`);
      // the whole calls started a fetch ahead again: restore-end (recovery_end_command) stops it and removes the area
      const end = prism(['pg', 'restore-end', target], sb.env);
      assert.equal(end.code, 0, end.stderr);
      assert.deepEqual(files(), ['stop']);
    } finally {
      sb.cleanup();
    }
  });
});

describe('PostgreSQL recovery from an encrypted repository with the fetch ahead', () => {
  const s = pitrSuite('prism-enc-prefetch-', { backup: { encryption: { enabled: true } } });
  const as = { uid: pgUser.uid, gid: pgUser.gid };

  it('recovers to a time from segments fetched ahead (the lean restore-wal needs no keys); --prefetch 0 sets no recovery_end_command', async () => {
    const password = join(s.root, 'password');
    writeFileSync(password, TEST_PASSWORD, { mode: 0o600 });
    chownSync(password, pgUser.uid, pgUser.gid);
    const env = { ...s.env, PRISM_PASSWORD_FILE: password };
    const run = (args: string[]) => prism([...args, '--repo', join(s.root, 'repo')], env, as);
    const data = startArchivingCluster(s.root, s.port, env, ['--wal-segsize=1']);
    s.clusters.push(data);
    const base = run(['pg', 'basebackup', '--url', `postgres://postgres@127.0.0.1:${s.port}/postgres`, '--json']);
    assert.equal(base.code, 0, base.stderr + base.stdout);
    await query(s.port, 'CREATE TABLE t (id int, note text)');
    await query(s.port, 'INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 150000) g');
    const target = await targetAfterLastCommit(s.port);
    await query(s.port, "INSERT INTO t VALUES (-1, 'after the target')");
    await switchAndWaitArchived(s.port);
    assert.equal(asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).code, 0);

    const off = run(['pg', 'restore', '--at', target.toISOString(), '--data-dir', join(s.root, 'no-prefetch'), '--prefetch', '0', '--json']);
    assert.equal(off.code, 0, off.stderr + off.stdout);
    assert.equal(json<{ recovery_end_command: string | null }>(off).recovery_end_command, null);
    const offConf = readFileSync(join(s.root, 'no-prefetch', 'postgresql.auto.conf'), 'utf8');
    assert.match(offConf, /^restore_command = '.* --prefetch 0'$/m);
    assert.doesNotMatch(offConf, /^recovery_end_command/m);

    rmSync(data, { recursive: true, force: true });
    const recovered = join(s.root, 'recovered');
    const restored = run(['pg', 'restore', '--at', target.toISOString(), '--data-dir', recovered]);
    assert.equal(restored.code, 0, restored.stderr + restored.stdout);
    s.clusters.push(recovered);
    const pgLog = join(s.root, 'recovered.log');
    const start = asPostgres('pg_ctl', ['-D', recovered, '-l', pgLog, '-w', '-t', '120', 'start'], env);
    assert.equal(start.code, 0, start.stderr + readLog(pgLog));
    await until(
      'promotion after recovery',
      async () => {
        const [{ r }] = await query<{ r: boolean }>(s.port, 'SELECT pg_is_in_recovery() AS r');
        return r === false ? true : undefined;
      },
      120_000,
    );
    const [{ n, after }] = await query<{ n: string; after: string }>(
      s.port,
      'SELECT count(*)::text AS n, count(*) FILTER (WHERE id < 0)::text AS after FROM t',
    );
    assert.deepEqual([n, after], ['150000', '0'], readLog(pgLog));
    const log = readLog(join(s.root, 'home', 'logs', 'pg.log'));
    const fetched = log
      .split('\n')
      .filter((l) => l.includes('"event":"pg.wal.prefetch_end"'))
      .reduce((a, l) => a + (JSON.parse(l) as { fetched: number }).fetched, 0);
    assert.ok(fetched > 5, `${fetched} segments fetched ahead`);
    const areas = join(s.root, 'home', 'spool', 'pg-restore');
    for (const a of readdirSync(areas)) assert.deepEqual(readdirSync(join(areas, a)), ['stop'], a);
  });
});
