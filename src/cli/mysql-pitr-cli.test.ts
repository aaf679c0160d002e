import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DbRecord, Manifest } from '../repo/index.js';
import { mariadb as sharedSql, mysqlScratchDb, type ScratchDb } from '../testing/databases.js';
import { systemClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { binlogArchiveJob } from '../daemon/binlog-jobs.js';
import { runJob } from '../daemon/job-runner.js';
import { compileSchedule } from '../daemon/schedule.js';
import { appContext, json, prism, sandbox, type Sandbox } from '../testing/fixtures.js';
import { freePort } from '../testing/free-port.js';
import { startBinlogServer, type BinlogServer } from '../testing/mariadb-server.js';

type Run = ReturnType<typeof prism>;

interface RestoreReport {
  backup: string;
  verified: boolean;
  plan: Array<{ name: string; action: string }>;
  replay: {
    from: { file: string; position: number };
    files: string[];
    stop_datetime: string;
    events?: number;
    last_event_at?: string | null;
    warnings: string[];
  };
}

interface ArchiveReport {
  databases: Array<{
    database: string;
    in_use: string;
    files: Array<{ name: string; stored: string; last_event_at: string }>;
    warnings: string[];
    error?: { code: string; message: string };
  }>;
}

/**
 * One throwaway MariaDB server for the file (built in `before`); each case starts from an empty
 * binary log (RESET MASTER), its own `shop` database and its own PRISM_HOME and repository, and
 * builds the history it needs. Binary log events get chosen whole seconds with the session's
 * `SET timestamp`, so nothing sleeps to make writes fall into different seconds; the server
 * stamps the files a FLUSH closes with its own clock, so a case waits (in 50 ms steps) only for
 * the server's clock to reach the second an assertion needs, usually while commands run.
 */
describe('MySQL/MariaDB point-in-time restore by binary log replay', () => {
  let root = '';
  let server: BinlogServer;
  /** The case's own PRISM_HOME and repository (set by its set-up: `history()` or `fresh()`). */
  let sb: Sandbox;
  const sandboxes: Sandbox[] = [];
  const scratch: ScratchDb[] = [];
  /** SQL on the throwaway server; tab-separated rows. */
  const sql = (text: string, db = ''): string => server.sql(text, db);
  const rows = (db: string) =>
    sql('SELECT id, note FROM t ORDER BY id', db)
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split('\t'));
  const serverNow = () => server.now();
  /** Waits until the server's clock has reached `ms` (the time the next event it stamps itself will carry). */
  const serverReaches = (ms: number) => server.reaches(ms);
  /** SQL whose binary log events carry the whole second `sec` (seconds since the epoch). */
  const sqlAt = (sec: number, text: string, db = '') => sql(`SET timestamp = ${sec}; ${text}`, db);
  const gtidSeq = () => Number(sql('SELECT @@gtid_binlog_pos').split('-').pop());
  const run = (args: string[]) => prism(args, sb.env);
  const url = (db: string) => server.url(db);

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'prism-binlog-'));
    server = await startBinlogServer(root, await freePort());
  });

  after(async () => {
    await server?.stop();
    for (const d of scratch) d.drop();
    for (const s of sandboxes) s.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  /** A PRISM_HOME of its own for the case, configured for `shop`, and a server with an empty binary log and no `shop` yet. */
  const fresh = (): Sandbox => {
    sb = sandbox();
    sandboxes.push(sb);
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'shop', type: 'mysql', url: url('shop') }] } }));
    sql('DROP DATABASE IF EXISTS shop; DROP DATABASE IF EXISTS scratch_target; RESET MASTER;');
    return sb;
  };

  interface History {
    made: Run;
    backup: Manifest;
    mid: Run;
    plain: Run;
    flushed: Run;
    /** A time between t2 and t3. */
    target: Date;
    /** When the last archived file was closed: after t4. */
    late: Date;
  }

  /**
   * The history the cases replay: `shop` with row 0, a backup, t1, an archive run with --flush (a
   * timer's run between the writes), t2, then t3 and a statement naming `shop` itself with t4 in
   * the next second, an archive run without and one with --flush.
   */
  const history = async (): Promise<History> => {
    fresh();
    sql("CREATE DATABASE shop; CREATE TABLE shop.t (id int PRIMARY KEY, note varchar(20)); INSERT INTO shop.t VALUES (0, 'base');");
    const made = run(['backup', 'create', '--json']);
    assert.equal(made.code, 0, made.stderr + made.stdout);
    sql("INSERT INTO t VALUES (1, 't1')", 'shop');
    const mid = run(['mysql', 'archive-binlog', '--flush', '--json']);
    assert.equal(mid.code, 0, mid.stderr + mid.stdout);
    // t2 in the second the flush closed the file in (or a later one); the target is the next whole
    // second (binary log times have whole seconds), and t3 is time-stamped with it
    const t2 = Math.floor(serverNow() / 1000);
    sqlAt(t2, "INSERT INTO t VALUES (2, 't2')", 'shop');
    const target = new Date((t2 + 1) * 1000);
    sqlAt(t2 + 1, "INSERT INTO t VALUES (3, 't3')", 'shop');
    sqlAt(t2 + 1, "ALTER TABLE shop.t COMMENT 'names its database'; INSERT INTO t VALUES (4, 't4')", 'shop');
    const plain = run(['mysql', 'archive-binlog', '--json']);
    // the flush stamps the file it closes with the server's clock: a second after t4
    await serverReaches((t2 + 2) * 1000);
    const flushed = run(['mysql', 'archive-binlog', '--db', 'shop', '--flush', '--json']);
    assert.equal(flushed.code, 0, flushed.stderr + flushed.stdout);
    const late = new Date(json<ArchiveReport>(flushed).databases[0]!.files.at(-1)!.last_event_at);
    return { made, backup: json<Manifest>(made), mid, plain, flushed, target, late };
  };

  it('records the binlog position with the dump, archives the log idempotently, and replays exactly the rows up to a time between t2 and t3', async () => {
    const { made, backup, mid, target, ...h } = await history();
    assert.equal(made.code, 0, made.stderr + made.stdout);
    const rec = backup.databases!.find((d) => d.name === 'shop')!;
    assert.match(rec.binlog!.file, /^bin\.\d{6}$/);
    assert.ok(rec.binlog!.position > 4);
    assert.match(rec.binlog!.gtid!, /^0-1-\d+$/);
    assert.equal(rec.binlog!.format, 'ROW');
    assert.deepEqual(
      rec.tables.map((t) => t.name),
      ['t'],
    );
    assert.equal(mid.code, 0, mid.stderr + mid.stdout);
    assert.ok(
      Date.parse(backup.started_at) <= target.getTime() && target.getTime() <= h.late.getTime() - 1000,
      'the target is after the backup, t4 before the file closed',
    );

    const plain = json<ArchiveReport>(h.plain);
    const inUse = plain.databases[0]!.in_use;
    assert.ok(!plain.databases[0]!.files.some((f) => f.name === inUse), 'the file in use is not archived');
    const flushed = h.flushed;
    assert.equal(flushed.code, 0, flushed.stderr + flushed.stdout);
    const report = json<ArchiveReport>(flushed);
    const files = report.databases[0]!.files;
    assert.ok(
      files.some((f) => f.name === inUse && f.stored === 'new'),
      `${inUse} archived once closed`,
    );
    assert.deepEqual(report.databases[0]!.warnings, []);

    // idempotent: nothing new is stored, no pack written
    const packs = () => readdirSync(join(sb.repo, 'data'), { recursive: true }).length;
    const before = packs();
    const again = json<ArchiveReport>(run(['mysql', 'archive-binlog', '--json']));
    assert.ok(again.databases[0]!.files.every((f) => f.stored === 'already archived'));
    assert.equal(packs(), before);
    const list = json<{ files: Array<{ database: string; name: string }> }>(run(['mysql', 'binlog', 'list', '--json']));
    assert.deepEqual(
      list.files.map((f) => f.name),
      files.map((f) => f.name),
    );
    // prune keeps what the archive references
    const pruned = run(['backup', 'prune', '--json']);
    assert.equal(pruned.code, 0, pruned.stderr + pruned.stdout);
    assert.deepEqual(json<{ unusedPacks: string[] }>(pruned).unusedPacks, []);

    // the database is lost; the operator creates it empty again
    sql('DROP DATABASE shop; CREATE DATABASE shop;');
    const dry = run(['db', 'restore', '--db', 'shop', '--at', target.toISOString(), '--replay', '--dry-run', '--json']);
    assert.equal(dry.code, 0, dry.stderr + dry.stdout);
    const plan = json<RestoreReport>(dry);
    assert.equal(plan.backup, backup.id);
    assert.deepEqual(
      plan.plan.map((p) => [p.name, p.action]),
      [['t', 'create']],
    );
    assert.equal(plan.replay.from.file, rec.binlog!.file);
    assert.ok(plan.replay.files.length >= 2, `replays across the mid-way flush: ${plan.replay.files.join(', ')}`);
    assert.equal(plan.replay.stop_datetime, target.toISOString().slice(0, 19).replace('T', ' '));
    assert.equal(sql('SHOW TABLES', 'shop'), '');

    const gtidBefore = gtidSeq();
    const restored = run(['db', 'restore', '--db', 'shop', '--at', target.toISOString(), '--replay', '--json']);
    assert.equal(restored.code, 0, restored.stderr + restored.stdout);
    const done = json<RestoreReport>(restored);
    assert.equal(done.verified, true);
    assert.equal(done.replay.events, 2);
    assert.deepEqual(done.replay.warnings, []);
    assert.deepEqual(rows('shop'), [
      ['0', 'base'],
      ['1', 't1'],
      ['2', 't2'],
    ]);
    assert.ok(gtidSeq() > gtidBefore, 'replayed transactions get new GTIDs; the server position does not go back');
    const text = run(['db', 'restore', '--db', 'shop', '--at', target.toISOString(), '--replay', '--dry-run']);
    assert.match(
      text.stdout,
      /~ overwrite t: 1 rows from the backup \(now 3 rows; a safety copy is kept\)\n {2}then replay the binary log from bin\.\d+:\d+ \(bin\.\d+, bin\.\d+/,
    );
  });

  it('stops before statements it must not replay and undoes the whole restore', async () => {
    const { target, late } = await history();
    // the database is lost, created empty again and restored up to the target
    sql('DROP DATABASE shop; CREATE DATABASE shop;');
    const lost = serverNow();
    const restored = run(['db', 'restore', '--db', 'shop', '--at', target.toISOString(), '--replay', '--json']);
    assert.equal(restored.code, 0, restored.stderr + restored.stdout);

    // into a database of another name, a statement naming `shop` would change shop: refused mid-way, after t1…t3
    const into = 'scratch_target';
    sql(`CREATE DATABASE ${into}`);
    const failed = run(['db', 'restore', '--db', 'shop', '--at', late.toISOString(), '--replay', '--target-url', url(into)]);
    assert.equal(failed.code, 33, failed.stderr + failed.stdout);
    assert.match(
      failed.stderr,
      /ERR_PRISM_DB_RESTORE.*the restore was undone, the tables are as they were: The binary log holds `ALTER TABLE shop\.t COMMENT .*which names database shop itself/,
    );
    assert.equal(sql('SHOW TABLES', into), '', 'the table the restore created and the replay filled is gone again');

    // in place, past the DROP DATABASE of the disaster: refused before it runs, and the tables are as they were
    sql("INSERT INTO t VALUES (9, 'after')", 'shop');
    // the flush stamps the file it closes with the server's clock: a second after the DROP DATABASE
    await serverReaches((Math.floor(lost / 1000) + 1) * 1000);
    const flushed = json<ArchiveReport>(run(['mysql', 'archive-binlog', '--flush', '--json']));
    assert.equal(flushed.databases[0]!.warnings.length, 0);
    const end = new Date(flushed.databases[0]!.files.at(-1)!.last_event_at);
    const ddl = run(['db', 'restore', '--db', 'shop', '--at', end.toISOString(), '--replay', '--confirm']);
    assert.equal(ddl.code, 33, ddl.stderr + ddl.stdout);
    assert.match(ddl.stderr, /`DROP DATABASE shop` \(at .*\) before the target time: statements that create, drop or alter a database are not replayed/);
    assert.deepEqual(rows('shop'), [
      ['0', 'base'],
      ['1', 't1'],
      ['2', 't2'],
      ['9', 'after'],
    ]);
    assert.equal(sql('SHOW TABLES', 'shop'), 't', 'the safety copy is dropped again');
    await serverReaches(end.getTime() + 1000);
    const refused = run(['db', 'restore', '--db', 'shop', '--at', new Date().toISOString(), '--replay', '--confirm']);
    assert.equal(refused.code, 41, refused.stderr); // the file in use holds the last second: not archived yet
  });

  it('names the gap when an archived file is missing, and refuses arguments that cannot work', async () => {
    const { backup, target } = await history();
    // one more file closed and archived after those the replay to the target needs
    sql("INSERT INTO t VALUES (5, 't5')", 'shop');
    const more = run(['mysql', 'archive-binlog', '--flush', '--json']);
    assert.equal(more.code, 0, more.stderr + more.stdout);
    const dir = join(sb.repo, 'mysql', 'binlog', 'shop');
    const names = readdirSync(dir)
      .filter((n) => n.endsWith('.json'))
      .sort();
    const start = backup.databases![0]!.binlog!.file;
    const next = names[names.indexOf(`${start}.json`) + 1]!;
    renameSync(join(dir, next), join(root, next));
    try {
      const gap = run(['db', 'restore', '--db', 'shop', '--at', target.toISOString(), '--replay', '--dry-run']);
      assert.equal(gap.code, 41, gap.stderr);
      assert.match(gap.stderr, new RegExp(`ERR_PRISM_BINLOG_GAP.*has a gap: ${next.replace('.json', '').replace('.', '\\.')} .*is missing`));
    } finally {
      renameSync(join(root, next), join(dir, next));
    }
    renameSync(join(dir, `${start}.json`), join(root, 'start.json'));
    try {
      const lacks = run(['db', 'restore', '--db', 'shop', '--at', target.toISOString(), '--replay', '--dry-run']);
      assert.equal(lacks.code, 41);
      assert.match(lacks.stderr, new RegExp(`lacks ${start.replace('.', '\\.')}, which holds backup ${backup.id}'s position`));
    } finally {
      renameSync(join(root, 'start.json'), join(dir, `${start}.json`));
    }
    const tooEarly = run(['db', 'restore', '--db', 'shop', '--at', '2001-01-01T00:00:00Z', '--replay']);
    assert.equal(tooEarly.code, 4, tooEarly.stderr);
    assert.equal(run(['db', 'restore', '--db', 'shop', '--replay']).code, 2);
    assert.match(run(['db', 'restore', '--db', 'shop', '--at', target.toISOString(), '--replay', '--table', 't']).stderr, /--table cannot be combined/);
    assert.equal(run(['db', 'restore', backup.id, '--db', 'shop', '--at', '2001-01-01T00:00:00Z', '--replay']).code, 2);
    assert.equal(run(['mysql', 'archive-binlog', '--db', 'nope']).code, 2);
    const purged = run(['mysql', 'archive-binlog', '--binlog-dir', join(root, 'nowhere'), '--flush']);
    assert.equal(purged.code, 36, purged.stderr);
    assert.match(purged.stderr, /ERR_PRISM_MYSQL_BINLOG.*is not in .*nowhere/);
  });

  it('expires the archived files no kept backup can replay (mysql expire, backup cleanup), and later replays still work', async () => {
    interface Expiry {
      dry_run: boolean;
      databases: Array<{
        database: string;
        oldest_kept_backup: string | null;
        first_kept_file: string | null;
        kept: number;
        expired: string[];
        expired_bytes: number;
      }>;
      warnings: string[];
      prune: { dry_run: boolean } | null;
    }
    const { backup } = await history();
    const listed = () => json<{ files: Array<{ name: string }> }>(run(['mysql', 'binlog', 'list', '--db', 'shop', '--json'])).files.map((f) => f.name);
    const start = backup.databases![0]!.binlog!.file;
    const all = listed();
    // the only backup starts in the first file: nothing expires
    const none = json<Expiry>(run(['mysql', 'expire', '--dry-run', '--json']));
    assert.deepEqual(none.databases, [
      { database: 'shop', oldest_kept_backup: backup.id, first_kept_file: start, kept: all.length, expired: [], expired_bytes: 0 },
    ]);
    const cleanupDry = json<{ binlog_archive: Expiry }>(run(['backup', 'cleanup', '--dry-run', '--json']));
    assert.deepEqual(cleanupDry.binlog_archive.databases[0]!.expired, []);

    // a newer backup, its position in a later file; the first backup goes
    sql("INSERT INTO t VALUES (10, 'later')", 'shop');
    const second = json<Manifest>(run(['backup', 'create', '--json']));
    const from = second.databases![0]!.binlog!.file;
    assert.notEqual(from, start);
    sql("INSERT INTO t VALUES (11, 'last')", 'shop');
    // the flush stamps the file it closes with the server's clock: at or after the second backup finished
    // (a replay to that time starts from the latest backup finished by then)
    await serverReaches(Math.ceil(Date.parse(second.finished_at!) / 1000) * 1000);
    const archived = json<ArchiveReport>(run(['mysql', 'archive-binlog', '--flush', '--json']));
    const closed = new Date(archived.databases[0]!.files.at(-1)!.last_event_at);
    const del = run(['backup', 'delete', backup.id, '--confirm', '--force', '--json']);
    assert.equal(del.code, 0, del.stderr + del.stdout);

    const before = listed();
    const older = before.slice(0, before.indexOf(from));
    assert.ok(older.length >= 1 && older.includes(start), `files before ${from}: ${older.join(', ')}`);
    const dry = json<Expiry>(run(['mysql', 'expire', '--dry-run', '--json']));
    assert.deepEqual(
      [dry.dry_run, dry.databases[0]!.expired, dry.databases[0]!.first_kept_file, dry.databases[0]!.oldest_kept_backup, dry.prune?.dry_run],
      [true, older, from, second.id, true],
    );
    assert.ok(dry.databases[0]!.expired_bytes > 0);
    assert.deepEqual(listed(), before, 'a dry run removes nothing');

    const text = run(['mysql', 'expire', '--no-prune']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(
      text.stdout,
      new RegExp(
        `shop: expired ${older.length} \\(${older[0]!.replace('.', '\\.')} … .*; ${before.length - older.length} kept \\(from ${from.replace('.', '\\.')}, where ${second.id} starts\\)`,
      ),
    );
    assert.deepEqual(listed(), before.slice(older.length));
    assert.deepEqual(json<Expiry>(run(['mysql', 'expire', '--json'])).databases[0]!.expired, [], 'a second run finds nothing more');
    // the server still has the expired files: archiving passes over them rather than storing them again
    const rerun = json<ArchiveReport & { databases: Array<{ not_needed: string[] }> }>(run(['mysql', 'archive-binlog', '--json']));
    assert.deepEqual(rerun.databases[0]!.not_needed, older);
    assert.ok(rerun.databases[0]!.files.every((f) => !older.includes(f.name) && f.stored === 'already archived'));
    assert.deepEqual(listed(), before.slice(older.length));

    // the kept backup still replays to its last archived second, from the files that are left
    const replay = json<RestoreReport>(run(['db', 'restore', '--db', 'shop', '--at', closed.toISOString(), '--replay', '--dry-run', '--json']));
    assert.equal(replay.backup, second.id);
    assert.equal(replay.replay.from.file, from);
    const bad = run(['mysql', 'expire', '--lock-wait', 'soon']);
    assert.equal(bad.code, 2, bad.stderr);

    // verify --all reads the archive too; a record that cannot be read fails it, names it, and raises an alert until a clean check
    interface Verified {
      ok: boolean;
      binlog_archive: { ok: boolean; checksum: string; files: number; damaged: unknown[]; damaged_records: Array<{ name: string }> } | null;
    }
    const clean = json<Verified>(run(['backup', 'verify', '--all', '--json']));
    assert.deepEqual(clean.binlog_archive, { ok: true, checksum: 'verified', files: listed().length, damaged: [], damaged_records: [] });
    const rec = join(sb.repo, 'mysql', 'binlog', 'shop', `${from}.json`);
    const saved = readFileSync(rec);
    writeFileSync(rec, '{"format":1,');
    try {
      const broken = run(['backup', 'verify', '--all']);
      assert.equal(broken.code, 15, broken.stdout + broken.stderr);
      assert.match(
        broken.stdout,
        new RegExp(
          `^Binary log archive: \\d+ file\\(s\\): checksum: mismatch\n {2}DAMAGED record mysql/binlog/shop/${from.replace('.', '\\.')}\\.json: .*not valid JSON`,
          'm',
        ),
      );
      assert.match(broken.stderr, /ERR_BACKUP_005\] Checksum mismatch: the binary log archive is damaged/);
      const alerts = json<{ active: Array<{ key: string }> }>(run(['alerts', '--json']));
      assert.ok(
        alerts.active.some((x) => x.key === 'verify_failed:archive:mysql'),
        JSON.stringify(alerts.active),
      );
    } finally {
      writeFileSync(rec, saved);
    }
    assert.equal(run(['backup', 'verify', '--all']).code, 0);
    assert.ok(
      !json<{ active: Array<{ key: string }> }>(run(['alerts', '--json'])).active.some((x) => x.key === 'verify_failed:archive:mysql'),
      'resolved by the clean check',
    );
  });

  it('the service job archives on its schedule: FLUSH, then the closed files; a server without binary logging is skipped', async () => {
    fresh();
    sql("CREATE DATABASE shop; CREATE TABLE shop.t (id int PRIMARY KEY, note varchar(20)); INSERT INTO shop.t VALUES (0, 'base');");
    const made = run(['backup', 'create', '--json']);
    assert.equal(made.code, 0, made.stderr + made.stdout);
    const ctx = appContext(sb, {}, systemClock);
    assert.equal(binlogArchiveJob.applies!(ctx), true);
    assert.deepEqual(
      compileSchedule(ctx, [binlogArchiveJob]).map((x) => x.expression),
      ['*/15 * * * *'],
    );
    const before = json<{ files: Array<{ name: string }> }>(run(['mysql', 'binlog', 'list', '--json'])).files.length;
    sql("INSERT INTO t VALUES (12, 'job')", 'shop');
    const { task } = await runJob(ctx, binlogArchiveJob, { trigger: 'scheduled', signal: new AbortController().signal, log: silentLogger });
    assert.equal(task.status, 'ok', task.message);
    assert.match(task.message ?? '', /^1 binary log file\(s\) archived \(bin\.\d{6}\)$/);
    const after = json<{ files: Array<{ name: string }> }>(run(['mysql', 'binlog', 'list', '--json'])).files;
    assert.equal(after.length, before + 1);
    assert.deepEqual(
      (task.details as { archived: Array<{ name: string }> }).archived.map((f) => f.name),
      [after.at(-1)!.name],
    );

    // not scheduled without a MySQL/MariaDB database
    const files = appContext(sandbox(), {}, systemClock);
    assert.equal(binlogArchiveJob.applies!(files), false);
    assert.deepEqual(compileSchedule(files, [binlogArchiveJob]), []);
    if (sharedSql('test', 'SELECT @@log_bin').trim() !== '0') return; // the shared server logs: the skip is not reachable here
    const plain = sandbox();
    try {
      writeFileSync(
        join(plain.home, 'config', 'backup.json'),
        JSON.stringify({ backup: { databases: [{ name: 'plain', type: 'mysql', url: 'mysql://root@127.0.0.1:3306/test' }] } }),
      );
      const r = await runJob(appContext(plain, {}, systemClock), binlogArchiveJob, {
        trigger: 'scheduled',
        signal: new AbortController().signal,
        log: silentLogger,
      });
      assert.equal(r.task.status, 'skipped');
      assert.match(r.task.message ?? '', /Binary logging is off on mysql:\/\/root@127\.0\.0\.1:3306\/test/);
    } finally {
      plain.cleanup();
    }
  });

  it("one server's problem does not stop the others: the command and the service job archive the rest and report it", async () => {
    fresh();
    sql("CREATE DATABASE shop; CREATE TABLE shop.t (id int PRIMARY KEY, note varchar(20)); INSERT INTO shop.t VALUES (0, 'base');");
    const made = run(['backup', 'create', '--json']);
    assert.equal(made.code, 0, made.stderr + made.stdout);
    // servers listed before the one that works: nothing listens on one; the shared server (when it does not log) has binary logging off
    const noBinlog = sharedSql('test', 'SELECT @@log_bin').trim() === '0';
    const databases = [
      ...(noBinlog ? [{ name: 'plain', type: 'mysql', url: 'mysql://root@127.0.0.1:3306/test' }] : []),
      { name: 'gone', type: 'mysql', url: `mysql://root@127.0.0.1:${await freePort()}/shop` },
      { name: 'shop', type: 'mysql', url: url('shop') },
    ];
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases } }));
    sql("INSERT INTO t VALUES (1, 'one')", 'shop');
    const r = run(['mysql', 'archive-binlog', '--flush', '--json']);
    assert.notEqual(r.code, 0, 'a server failed');
    const rep = json<ArchiveReport>(r);
    const by = new Map(rep.databases.map((d) => [d.database, d]));
    assert.ok(
      by.get('shop')!.files.some((f) => f.stored === 'new'),
      'the working server is archived',
    );
    assert.equal(by.get('shop')!.error, undefined);
    assert.equal(by.get('gone')!.error?.code, 'ERR_PRISM_DB_UNREACHABLE');
    if (noBinlog) {
      assert.equal(by.get('plain')!.error?.code, 'ERR_PRISM_MYSQL_BINLOG');
      assert.match(by.get('plain')!.error!.message, /Binary logging is off/);
    }
    const text = run(['mysql', 'archive-binlog']);
    assert.equal(text.code, r.code);
    assert.match(text.stdout, /^shop \(.*\): 0 file\(s\) archived, \d+ already archived/m);
    assert.match(text.stdout, /^gone \(mysql:\/\/root@127\.0\.0\.1:\d+\/shop\): FAILED \[ERR_PRISM_DB_UNREACHABLE\]/m);
    assert.match(text.stderr, /ERR_PRISM_.*not archived \(the others were\): .*gone: Database .* is unreachable/);

    // the service job: archives the rest, fails naming the unreachable server
    sql("INSERT INTO t VALUES (2, 'two')", 'shop');
    const ctx = appContext(sb, {}, systemClock);
    const { task } = await runJob(ctx, binlogArchiveJob, { trigger: 'scheduled', signal: new AbortController().signal, log: silentLogger });
    assert.equal(task.status, 'failed', task.message);
    assert.equal(task.error_code, 'ERR_PRISM_DB_UNREACHABLE');
    assert.match(task.message ?? '', /^1 binary log file\(s\) archived \(bin\.\d{6}\); not archived: gone: /);
    if (noBinlog) {
      // binary logging off is nothing to archive, not a failure of the job
      writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: databases.filter((d) => d.name !== 'gone') } }));
      sql("INSERT INTO t VALUES (3, 'three')", 'shop');
      const ok = await runJob(appContext(sb, {}, systemClock), binlogArchiveJob, {
        trigger: 'scheduled',
        signal: new AbortController().signal,
        log: silentLogger,
      });
      assert.equal(ok.task.status, 'ok', ok.task.message);
      assert.match(ok.task.message ?? '', /^1 binary log file\(s\) archived \(bin\.\d{6}\); plain: Binary logging is off/);
    }
  });

  it('without binary logging the dump is as before, and a replay says to enable log_bin', () => {
    if (sharedSql('test', 'SELECT @@log_bin').trim() !== '0') return; // the shared server logs: nothing to check here
    const db = mysqlScratchDb();
    scratch.push(db);
    db.sql("CREATE TABLE t (id int PRIMARY KEY, note varchar(20)); INSERT INTO t VALUES (1, 'x');");
    const other = sandbox();
    try {
      writeFileSync(join(other.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'plain', type: 'mysql', url: db.url }] } }));
      const m = json<Manifest>(prism(['backup', 'create', '--json'], other.env));
      const rec: DbRecord = m.databases![0]!;
      assert.equal(rec.binlog, undefined);
      const r = prism(['db', 'restore', '--db', 'plain', '--at', new Date(Date.now() + 1000).toISOString(), '--replay', '--dry-run'], other.env);
      assert.equal(r.code, 40, r.stderr);
      assert.match(r.stderr, /ERR_PRISM_BINLOG_POSITION.*records no binary log position: binary logging \(log_bin\) was off.*Enable log_bin/);
      const a = prism(['mysql', 'archive-binlog'], other.env);
      assert.equal(a.code, 36);
      assert.match(a.stderr, /Binary logging is off/);
    } finally {
      other.cleanup();
    }
  });
});
