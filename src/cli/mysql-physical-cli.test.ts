import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FixedClock, systemClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import { cleanupJob } from '../daemon/backup-jobs.js';
import { runJob } from '../daemon/job-runner.js';
import { ServiceMetrics } from '../daemon/metrics.js';
import { mysqlBaseBackupJob } from '../daemon/mysql-jobs.js';
import { compileSchedule } from '../daemon/schedule.js';
import { serviceStatus } from '../daemon/service-status.js';
import { TEST_PASSWORD } from '../testing/encrypted.js';
import { appContext, json, prism, sandbox, waitFor, type CliResult, type Sandbox } from '../testing/fixtures.js';
import { parseMetrics } from '../testing/prometheus.js';
import { freePort } from '../testing/free-port.js';
import { filesUnder, zstdDecompressMaybe } from '../testing/leak-scan.js';
import { startBinlogServer, startServerOn, type BinlogServer } from '../testing/mariadb-server.js';

interface BaseReport {
  id: string;
  database: string | null;
  size: number;
  sha256: string;
  new_bytes: number;
  chunks: number;
  started_at: string;
  finished_at: string;
  server: { version: string; datadir: string };
  binlog: { file: string; position: number; gtid?: string; format?: string } | null;
  warnings: string[];
}

interface RestoreReport {
  base_backup: string;
  binlog: { file: string; position: number } | null;
  replay: { database: string; until: string; from: { file: string; position: number }; files: string[] } | null;
  next: string[];
}

/** Bytes under the repository's data/ (the packs). */
function packBytes(repo: string): number {
  return filesUnder(join(repo, 'data')).reduce((n, f) => n + statSync(f).size, 0);
}

/**
 * MariaDB physical base backups with mariabackup against a throwaway server with binary logging:
 * take, list, restore into a new data directory, start a server on it and read the rows back;
 * with --at, the archived binary log replayed into the restored server up to the target only.
 */
describe('MariaDB physical base backups (mariabackup)', () => {
  let root = '';
  let server: BinlogServer;
  const started: BinlogServer[] = [];
  const sandboxes: Sandbox[] = [];
  let sb: Sandbox;
  let env: Record<string, string> = {};
  const sql = (text: string, db = ''): string => server.sql(text, db);
  const run = (args: string[], extra: Record<string, string> = {}): CliResult => prism(args, { ...env, ...extra });
  const ok = (args: string[]): CliResult => {
    const r = run(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };
  /** A sandbox configured for `shop` on the throwaway server; `extra` goes into backup, `shopExtra` into shop's entry, `others` before it. */
  const fresh = (extra: Record<string, unknown> = {}, shopExtra: Record<string, unknown> = {}, others: unknown[] = []): Sandbox => {
    sb = sandbox();
    sandboxes.push(sb);
    env = sb.env;
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({ backup: { ...extra, databases: [...others, { name: 'shop', type: 'mysql', url: server.url('shop'), ...shopExtra }] } }),
    );
    sql('DROP DATABASE IF EXISTS shop; RESET MASTER;');
    return sb;
  };
  /** Starts a server on a restored data directory; its rows of shop.t. */
  const serveRestored = async (dir: string): Promise<BinlogServer> => {
    const r = join(mkdtempSync(join(root, 'srv-')));
    const s = await startServerOn(r, dir, await freePort());
    started.push(s);
    return s;
  };
  const rowsOf = (s: BinlogServer) => s.sql('SELECT id, note FROM t ORDER BY id', 'shop');

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'prism-physical-'));
    server = await startBinlogServer(join(root, 'origin'), await freePort());
  });
  after(async () => {
    for (const s of started) await s.stop();
    await server?.stop();
    for (const s of sandboxes) s.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  it('takes a base backup with its binlog position, restores it into a new data directory, and replays the archived binary log up to --at only', async () => {
    fresh();
    sql("CREATE DATABASE shop; CREATE TABLE shop.t (id int PRIMARY KEY, note varchar(40)); INSERT INTO shop.t VALUES (1, 'one'), (2, 'two'), (3, 'three');");
    const base = json<BaseReport>(ok(['mysql', 'basebackup', '--db', 'shop', '--json']));
    assert.match(base.id, /^mysqlbase_\d{8}_\d{6}$/);
    assert.equal(base.database, 'shop');
    assert.match(base.binlog!.file, /^bin\.\d{6}$/);
    assert.ok(base.binlog!.position > 4);
    assert.match(base.binlog!.gtid!, /^0-1-\d+$/);
    assert.equal(base.binlog!.format, 'ROW');
    assert.match(base.server.version, /MariaDB/);
    assert.match(base.sha256, /^[0-9a-f]{64}$/);
    assert.ok(base.size > 1_000_000, `an xbstream of the whole server: ${base.size}`);
    assert.deepEqual(base.warnings, []);
    // the position is the one the server stood at (nothing written since)
    const [file, pos] = sql('SHOW MASTER STATUS').split('\t');
    assert.deepEqual([base.binlog!.file, base.binlog!.position], [file, Number(pos)]);

    const list = json<{ base_backups: Array<{ id: string; binlog: { file: string } }> }>(ok(['mysql', 'basebackup', 'list', '--json']));
    assert.deepEqual(
      list.base_backups.map((b) => b.id),
      [base.id],
    );
    assert.match(ok(['mysql', 'basebackup', 'list']).stdout, new RegExp(`${base.id}\\s+shop\\s+.*${base.binlog!.file}:${base.binlog!.position}`));

    // after the backup: row 4 at t2, the target the second after, row 5 in that second (after the target)
    const t2 = Math.floor(server.now() / 1000);
    sql(`SET timestamp = ${t2}; INSERT INTO t VALUES (4, 'four')`, 'shop');
    const target = new Date((t2 + 1) * 1000);
    sql(`SET timestamp = ${t2 + 1}; INSERT INTO t VALUES (5, 'after the target')`, 'shop');
    await server.reaches((t2 + 2) * 1000);
    ok(['mysql', 'archive-binlog', '--flush']);

    // a plain restore of the base backup: the rows of the backup
    const plainDir = join(root, 'plain');
    const plain = json<RestoreReport>(ok(['mysql', 'restore', '--data-dir', plainDir, '--base', base.id, '--json']));
    assert.equal(plain.base_backup, base.id);
    assert.equal(plain.replay, null);
    assert.equal(existsSync(join(plainDir, 'prism-replay.json')), false);
    const plainServer = await serveRestored(plainDir);
    assert.equal(rowsOf(plainServer), '1\tone\n2\ttwo\n3\tthree');
    await plainServer.stop();

    // to a point in time: the base backup, then the replay up to the target once the server runs
    const pitrDir = join(root, 'pitr');
    const pitr = json<RestoreReport>(ok(['mysql', 'restore', '--data-dir', pitrDir, '--at', target.toISOString(), '--json']));
    assert.equal(pitr.base_backup, base.id);
    assert.deepEqual(pitr.replay!.from, { file: base.binlog!.file, position: base.binlog!.position, gtid: base.binlog!.gtid });
    assert.equal(pitr.replay!.until, target.toISOString());
    assert.ok(pitr.replay!.files.includes(base.binlog!.file));
    assert.match(pitr.next.at(-1)!, /prism mysql replay --data-dir /);
    const pitrServer = await serveRestored(pitrDir);
    assert.equal(rowsOf(pitrServer), '1\tone\n2\ttwo\n3\tthree', 'before the replay: the base backup');
    // never into the original server: its data directory is not the restored one
    const wrong = run(['mysql', 'replay', '--data-dir', pitrDir, '--url', server.url('mysql'), '--json']);
    assert.equal(wrong.code, 2, wrong.stdout + wrong.stderr);
    assert.match(wrong.stdout, /runs on .*, not on .*pitr/);
    const replayed = json<{ events: number; files: string[]; last_event_at: string }>(
      ok(['mysql', 'replay', '--data-dir', pitrDir, '--url', pitrServer.url('mysql'), '--json']),
    );
    assert.ok(replayed.events >= 1, JSON.stringify(replayed));
    assert.equal(rowsOf(pitrServer), '1\tone\n2\ttwo\n3\tthree\n4\tfour', 'up to the target: row 4, not row 5');
    assert.ok(existsSync(join(pitrDir, 'prism-replay.done.json')));
    const twice = run(['mysql', 'replay', '--data-dir', pitrDir, '--url', pitrServer.url('mysql')]);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /ran already .*apply the same transactions twice/);
    assert.equal(rowsOf(pitrServer), '1\tone\n2\ttwo\n3\tthree\n4\tfour');

    // a directory that is not empty is refused and left as it was
    const busy = join(root, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'keep.txt'), 'mine');
    const refused = run(['mysql', 'restore', '--data-dir', busy]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /not empty/);
    assert.deepEqual(readdirSync(busy), ['keep.txt']);
    // a target time before the base backup: no base backup fits, nothing written
    const early = run(['mysql', 'restore', '--data-dir', join(root, 'early'), '--at', '2000-01-01T00:00:00Z']);
    assert.notEqual(early.code, 0);
    assert.match(early.stderr, /No physical base backup finished at or before 2000-01-01/);
    assert.equal(existsSync(join(root, 'early')), false);
  });

  it('a second base backup of an unchanged server adds little; --keep-base-backups 1 expires the older one and prune frees its data; verify --all reads them', async () => {
    fresh();
    sql('CREATE DATABASE shop; CREATE TABLE shop.t (id int PRIMARY KEY, note varchar(200));');
    // ~5 MB of rows that do not compress to nothing
    sql('INSERT INTO t SELECT seq, SHA2(seq, 512) FROM seq_1_to_40000', 'shop');
    // "unchanged": the load's undo purged and every dirty page written (as on a server that has been
    // idle a while; this throwaway server flushes at once with max_dirty_pages_pct 0); otherwise
    // InnoDB's background work changes pages between the two
    sql('SET GLOBAL innodb_max_purge_lag_wait = 0; SET GLOBAL innodb_max_dirty_pages_pct = 0; FLUSH TABLES t FOR EXPORT; UNLOCK TABLES;', 'shop');
    await waitFor('no dirty pages', () => sql("SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'").split('\t')[1] === '0');
    const first = json<BaseReport>(ok(['mysql', 'basebackup', '--json']));
    const afterFirst = packBytes(sb.repo);
    const second = json<BaseReport>(ok(['mysql', 'basebackup', '--json']));
    const added = packBytes(sb.repo) - afterFirst;
    process.stdout.write(
      `# physical base backup: ${first.size} bytes of xbstream, ${afterFirst} bytes stored; second unchanged: ${second.new_bytes} new bytes before compression, ${added} bytes added on disk\n`,
    );
    assert.notEqual(second.id, first.id);
    // before compression the copied redo log varies with InnoDB's background work (0.9–4.4 MB of 32 MB seen); on disk it is what counts
    assert.ok(second.new_bytes < second.size / 2, `the second adds ${second.new_bytes} of ${second.size}`);
    assert.ok(added < afterFirst / 2, `the second adds ${added} bytes on disk, the first ${afterFirst}`);

    const verified = json<{ ok: boolean; binlog_archive: { ok: boolean; base_backups: number } | null }>(ok(['backup', 'verify', '--all', '--json']));
    assert.equal(verified.ok, true);
    assert.deepEqual([verified.binlog_archive?.ok, verified.binlog_archive?.base_backups], [true, 2]);

    // prune alone keeps both (the records reference their chunks)
    assert.deepEqual(json<{ unusedPacks: string[] }>(ok(['backup', 'prune', '--json'])).unusedPacks, []);
    const dry = json<{ removed_base_backups: string[] }>(ok(['mysql', 'expire', '--keep-base-backups', '1', '--dry-run', '--json']));
    assert.deepEqual(dry.removed_base_backups, [first.id]);
    assert.equal(json<{ base_backups: unknown[] }>(ok(['mysql', 'basebackup', 'list', '--json'])).base_backups.length, 2, 'a dry run removes nothing');
    const expired = json<{ removed_base_backups: string[]; prune: unknown }>(ok(['mysql', 'expire', '--keep-base-backups', '1', '--no-prune', '--json']));
    assert.deepEqual(expired.removed_base_backups, [first.id]);
    assert.equal(expired.prune, null);
    assert.deepEqual(
      json<{ base_backups: Array<{ id: string }> }>(ok(['mysql', 'basebackup', 'list', '--json'])).base_backups.map((b) => b.id),
      [second.id],
    );
    // what only the older one referenced is gone with the next prune (repacking every pack with unused data)
    const before = packBytes(sb.repo);
    const pruned = json<{ freedBytes: number }>(ok(['backup', 'prune', '--max-unused', '0', '--json']));
    assert.ok(pruned.freedBytes > 0 && packBytes(sb.repo) < before, `freed ${pruned.freedBytes}`);
    // the kept one is whole
    assert.equal(json<{ ok: boolean }>(ok(['backup', 'verify', '--all', '--json'])).ok, true);
    const bad = run(['mysql', 'expire', '--keep-base-backups', '0']);
    assert.equal(bad.code, 2);
  });

  it('the service job: scheduled for the database marked physical, run by the job runner, in the status and metrics; cleanup keeps mysql_base_backups_* on the clock', async () => {
    // shop is marked physical; another MySQL entry (unreachable, never contacted) comes first
    fresh({ retention_policy: { mysql_base_backups_count: 1, mysql_base_backups_age_days: 7 }, service: { metrics_address: '' } }, { physical: true }, [
      { name: 'elsewhere', type: 'mysql', url: 'mysql://root@127.0.0.1:1/elsewhere' },
    ]);
    sql("CREATE DATABASE shop; CREATE TABLE shop.t (id int PRIMARY KEY, note varchar(40)); INSERT INTO shop.t VALUES (1, 'one');");
    const ctx = appContext(sb, {}, systemClock);
    assert.deepEqual(
      compileSchedule(ctx, [mysqlBaseBackupJob]).map((x) => x.expression),
      ['0 1 * * 0'],
    );
    // `mysql basebackup` without --db takes the database marked physical too
    const first = json<BaseReport>(ok(['mysql', 'basebackup', '--json']));
    assert.equal(first.database, 'shop');

    const signal = new AbortController().signal;
    const { task } = await runJob(ctx, mysqlBaseBackupJob, { trigger: 'scheduled', signal, log: silentLogger });
    assert.equal(task.status, 'ok', task.message);
    assert.match(task.message ?? '', /^mysqlbase_\d{8}_\d{6}(_\d+)?: \d+ bytes \(\d+ new\), binlog bin\.\d{6}:\d+ \(GTID 0-1-\d+\)$/);
    const details = task.details as { id: string; database: string; binlog: { file: string } };
    assert.equal(details.database, 'shop');
    assert.notEqual(details.id, first.id);
    const listed = () => json<{ base_backups: Array<{ id: string }> }>(ok(['mysql', 'basebackup', 'list', '--json'])).base_backups.map((b) => b.id);
    assert.deepEqual(listed(), [first.id, details.id]);

    // `prism service status` and the metrics name it like every job: schedule, next run, last run
    const status = serviceStatus(sb.home, systemClock, ctx);
    const job = status.jobs.find((j) => j.job === 'mysql_basebackup');
    assert.deepEqual([job?.schedule, job?.last?.status, (job?.last?.details as { id?: string } | undefined)?.id], ['0 1 * * 0', 'ok', details.id]);
    assert.ok(job?.next_run, 'a next run');
    const metrics = parseMetrics(
      await new ServiceMetrics({ ctx, alerts: null, nextRuns: () => [{ job: 'mysql_basebackup', at: new Date(job.next_run!) }] }).render(),
    );
    assert.equal(metrics.get('prism_job_last_success_timestamp_seconds{job="mysql_basebackup"}'), Date.parse(task.finished_at) / 1000);
    assert.equal(metrics.get('prism_job_next_run_timestamp_seconds{job="mysql_basebackup"}'), Date.parse(job.next_run!) / 1000);
    assert.match(ok(['status']).stdout, /mysql_basebackup\s+0 1 \* \* 0\s.*\bok\b/);

    // `mysql expire` follows the configuration: both are younger than 7 days, so both stay
    const dry = json<{
      policy: { from: string; base_backups_count: number };
      removed_base_backups: string[];
      base_backups: Array<{ id: string; reasons: string[] }>;
    }>(ok(['mysql', 'expire', '--dry-run', '--json']));
    assert.deepEqual([dry.policy.from, dry.policy.base_backups_count, dry.removed_base_backups], ['config', 1, []]);
    assert.deepEqual(dry.base_backups.find((b) => b.id === first.id)!.reasons, ['younger than 7 days']);
    const cleanedNow = await runJob(ctx, cleanupJob, { trigger: 'scheduled', signal, log: silentLogger });
    assert.equal(cleanedNow.task.status, 'ok', cleanedNow.task.message);
    assert.deepEqual((cleanedNow.task.details as { mysql_base_backups_removed: string[] }).mysql_base_backups_removed, []);
    assert.deepEqual(listed(), [first.id, details.id]);

    // eight days later the service's cleanup removes the older one (beyond the newest 1 and older than 7 days); the newest stays whatever its age
    const later = appContext(sb, {}, new FixedClock(new Date(Date.now() + 8 * 86_400_000)));
    const cleaned = await runJob(later, cleanupJob, { trigger: 'scheduled', signal, log: silentLogger });
    assert.equal(cleaned.task.status, 'ok', cleaned.task.message);
    assert.deepEqual((cleaned.task.details as { mysql_base_backups_removed: string[] }).mysql_base_backups_removed, [first.id]);
    assert.match(cleaned.task.message ?? '', /1 MariaDB physical base backup\(s\) and \d+ binary log file\(s\) expired/);
    assert.deepEqual(listed(), [details.id]);
    // what the newest needs restores
    const dir = join(root, 'from-job');
    assert.equal(json<RestoreReport>(ok(['mysql', 'restore', '--data-dir', dir, '--json'])).base_backup, details.id);
    const s = await serveRestored(dir);
    assert.equal(rowsOf(s), '1\tone');
    await s.stop();

    // not scheduled without a database marked physical; a server that does not answer fails the task, and nothing is recorded
    assert.deepEqual(compileSchedule(appContext(fresh(), {}, systemClock), [mysqlBaseBackupJob]), []);
    fresh({}, { physical: true, url: 'mysql://root@127.0.0.1:1/shop' });
    const down = await runJob(appContext(sb, {}, systemClock), mysqlBaseBackupJob, { trigger: 'scheduled', signal, log: silentLogger });
    assert.equal(down.task.status, 'failed');
    assert.match(down.task.error_code ?? '', /^ERR_/);
    assert.match(down.task.message ?? '', /127\.0\.0\.1:1/);
    assert.equal(existsSync(join(sb.repo, 'mysql', 'base')) && readdirSync(join(sb.repo, 'mysql', 'base')).length > 0, false);
  });

  it('a user without the privileges mariabackup needs: ERR_PRISM_MYSQL_PHYSICAL naming them, and nothing recorded', () => {
    fresh();
    sql(
      "CREATE DATABASE shop; CREATE TABLE shop.t (id int PRIMARY KEY); DROP USER IF EXISTS weak@'127.0.0.1'; CREATE USER weak@'127.0.0.1' IDENTIFIED BY 'Weak-Pw-1'; GRANT SELECT ON *.* TO weak@'127.0.0.1';",
    );
    const url = `mysql://weak:Weak-Pw-1@127.0.0.1:${server.port}/shop`;
    const r = run(['mysql', 'basebackup', '--url', url, '--json']);
    assert.equal(r.code, 58, r.stdout + r.stderr);
    const err = json<{ error: { code: string; message: string } }>(r).error;
    assert.equal(err.code, 'ERR_PRISM_MYSQL_PHYSICAL');
    assert.match(err.message, /missing required privilege RELOAD/);
    assert.match(err.message, /Grant the user RELOAD, PROCESS, LOCK TABLES and BINLOG MONITOR/);
    assert.doesNotMatch(r.stdout + r.stderr, /Weak-Pw-1|IDENTIFIED BY/);
    assert.equal(existsSync(join(sb.repo, 'mysql', 'base')) && readdirSync(join(sb.repo, 'mysql', 'base')).length > 0, false);
    assert.equal(json<{ base_backups: unknown[] }>(ok(['mysql', 'basebackup', 'list', '--json'])).base_backups.length, 0);
    // a data directory that is not here: refused before mariabackup runs
    const elsewhere = run(['mysql', 'basebackup', '--datadir', join(root, 'nowhere')]);
    assert.equal(elsewhere.code, 58);
    assert.match(elsewhere.stderr, /is not a MariaDB data directory/);
  });

  it('in an encrypted repository the stream is sealed: a row only the base backup holds is in no repository file, and it restores', async () => {
    fresh({ encryption: { enabled: true } });
    const password = join(sb.root, 'password');
    writeFileSync(password, TEST_PASSWORD, { mode: 0o600 });
    env = { ...sb.env, PRISM_PASSWORD_FILE: password, PRISM_KDF_MINIMUM: '1' };
    const MARKER = 'physical-marker-7d41a9';
    sql(`CREATE DATABASE shop; CREATE TABLE shop.t (id int PRIMARY KEY, note varchar(40)); INSERT INTO shop.t VALUES (1, '${MARKER}');`);
    ok(['mysql', 'basebackup', '--json']);
    assert.ok(JSON.parse(readFileSync(join(sb.repo, 'config.json'), 'utf8')).encryption, 'created encrypted');
    const stored = filesUnder(sb.repo);
    assert.ok(stored.some((f) => f.includes('/mysql/base/')));
    for (const f of stored) {
      const bytes = readFileSync(f);
      for (const candidate of [bytes, ...zstdDecompressMaybe(bytes)]) assert.equal(candidate.includes(MARKER), false, `${f} holds the marker`);
    }
    const dir = join(root, 'sealed');
    ok(['mysql', 'restore', '--data-dir', dir]);
    const s = await serveRestored(dir);
    assert.equal(rowsOf(s), `1\t${MARKER}`);
    await s.stop();
  });
});
