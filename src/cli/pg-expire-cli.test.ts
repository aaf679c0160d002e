import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { PgExpireReport, PruneReport, VerifyReport } from '../app/index.js';
import { LocalBackend } from '../backend/index.js';
import { FixedClock } from '../core/clock.js';
import { Repository } from '../repo/index.js';
import { json, prism } from '../testing/fixtures.js';
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

interface WalList {
  base_backups: Array<{ id: string; start_wal: string; finished_at: string }>;
  wal: Array<{ name: string }>;
}
type Expire = PgExpireReport & { prune: PruneReport | null };

/** Segment-named WAL files (segments, .partial, .backup) before `first` by segment number, as the retention rule reads them. */
const expiring = (names: string[], first: string) =>
  names.filter((n) => /^[0-9A-F]{24}(\..+)?$/.test(n) && !n.endsWith('.history') && n.slice(8, 24) < first.slice(8)).sort();

describe('PITR retention on a real cluster: two base backups, the older expired, recovery from the newer', () => {
  const s = pitrSuite('prism-pitr-expire-', { backup: { retention_policy: { pg_base_backups_count: 1, pg_base_backups_age_days: 0 } } });
  const as = { uid: pgUser.uid, gid: pgUser.gid };
  const run = s.run;
  const repoEnv = () => ({ ...s.env, PRISM_BACKUP_PATH: join(s.root, 'repo') });

  it('refuses a bad --lock-wait and a missing repository with their codes, changing nothing', () => {
    const bad = prism(['pg', 'expire', '--lock-wait', 'soon', '--repo', join(s.root, 'repo')], s.env, as);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /ERR_PRISM_INVALID_ARGUMENT|--lock-wait/);
    const missing = prism(['pg', 'expire', '--repo', join(s.root, 'no-repo')], s.env, as);
    assert.equal(missing.code, 7, missing.stderr);
    assert.match(missing.stderr, /ERR_PRISM_NO_REPO/);
    assert.equal(existsSync(join(s.root, 'no-repo')), false, 'no repository is created by a failed expire');
  });

  it('expires the older base backup and the WAL before the newer one, prunes their data, verifies clean and still recovers', async () => {
    const data = startArchivingCluster(s.root, s.port, s.env);
    s.clusters.push(data);
    const url = `postgres://postgres@127.0.0.1:${s.port}/postgres`;

    const first = run(['pg', 'basebackup', '--url', url, '--json']);
    assert.equal(first.code, 0, first.stderr + first.stdout);
    const old = json<{ id: string; start_wal: string }>(first);
    await query(s.port, 'CREATE TABLE t (id int PRIMARY KEY, note text)');
    await query(s.port, "INSERT INTO t VALUES (1, 'before the second base backup')");
    await switchAndWaitArchived(s.port);
    await switchAndWaitArchived(s.port);
    const second = run(['pg', 'basebackup', '--url', url, '--json']);
    assert.equal(second.code, 0, second.stderr + second.stdout);
    const kept = json<{ id: string; start_wal: string }>(second);
    assert.ok(kept.start_wal.slice(8) > old.start_wal.slice(8), `${kept.start_wal} after ${old.start_wal}`);
    await query(s.port, "INSERT INTO t VALUES (2, 'after it')");
    const target = await targetAfterLastCommit(s.port);
    await query(s.port, "INSERT INTO t VALUES (3, 'after the target')");
    await switchAndWaitArchived(s.port);

    const policy = prism(['backup', 'policy'], s.env, as);
    assert.match(policy.stdout, /^ {2}pg_base_backups:\n {4}count: 1 .*file\n {4}age_days: 0 .*file$/m);

    const listed = json<WalList>(run(['pg', 'wal', 'list', '--json']));
    assert.deepEqual(
      listed.base_backups.map((b) => b.id),
      [old.id, kept.id],
    );
    const names = listed.wal.map((w) => w.name);
    const expected = expiring(names, kept.start_wal);
    assert.ok(expected.includes(old.start_wal) && expected.some((n) => n.endsWith('.backup')), `segments and a .backup file expire: ${expected.join(' ')}`);

    // the dry runs of pg expire and of cleanup agree, and change nothing
    const dry = json<Expire>(run(['pg', 'expire', '--dry-run', '--json']));
    assert.deepEqual(dry.removed_base_backups, [old.id]);
    assert.deepEqual(dry.wal.expired, expected);
    assert.equal(dry.wal.first_kept_segment, kept.start_wal);
    assert.equal(dry.wal.kept, names.length - expected.length);
    const cleanupDry = prism(['backup', 'cleanup', '--dry-run', '--json'], repoEnv(), as);
    assert.equal(cleanupDry.code, 0, cleanupDry.stderr);
    assert.deepEqual(json<{ pg_archive: PgExpireReport }>(cleanupDry).pg_archive.wal.expired, expected);
    const text = prism(['backup', 'cleanup', '--dry-run'], repoEnv(), as);
    assert.match(text.stdout, /^PITR archive .*: 1 base backup\(s\) kept, 1 would be removed$/m);
    assert.match(text.stdout, new RegExp(`^ {2}WOULD REMOVE +FINISHED +RULE\\n {2}${old.id} `, 'm'));
    assert.match(
      text.stdout,
      new RegExp(`^ {2}WAL files that would expire: ${expected.length} \\(.*\\); ${dry.wal.kept} kept \\(from ${kept.start_wal}, where ${kept.id} starts`, 'm'),
    );
    assert.deepEqual(json<WalList>(run(['pg', 'wal', 'list', '--json'])), listed);

    const removed = [`pg/base/${old.id}.json`, ...expected.map((n) => `pg/wal/${n}.json`)];
    const allBlobs = await referenced(join(s.root, 'repo'), removed);
    const r = run(['pg', 'expire', '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const done = json<Expire>(r);
    assert.deepEqual([done.removed_base_backups, done.wal.expired], [[old.id], expected]);
    assert.ok(done.prune && done.prune.dry_run === false);
    const after = json<WalList>(run(['pg', 'wal', 'list', '--json']));
    assert.deepEqual(
      after.base_backups.map((b) => b.id),
      [kept.id],
    );
    assert.deepEqual(
      after.wal.map((w) => w.name),
      names.filter((n) => !expected.includes(n)),
    );
    // prune took the removed records' own data out of the index
    const left = await referenced(join(s.root, 'repo'), []);
    const onlyExpired = [...allBlobs.byRemoved].filter((id) => !left.all.has(id));
    assert.ok(onlyExpired.length > 0);
    assert.deepEqual(
      onlyExpired.filter((id) => left.indexed.has(id)),
      [],
      'no chunk only the removed records named is still indexed',
    );

    const v = prism(['backup', 'verify', '--all', '--json'], repoEnv(), as);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.deepEqual(json<VerifyReport>(v).pg_archive, {
      ok: true,
      checksum: 'verified',
      wal_files: after.wal.length,
      base_backups: 1,
      damaged: [],
      damaged_records: [],
    });

    // the cluster is lost; recovery from the kept base backup replays the kept WAL through restore-wal
    assert.equal(asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).code, 0);
    rmSync(data, { recursive: true, force: true });
    const tooEarly = run(['pg', 'restore', '--at', listed.base_backups[0]!.finished_at, '--data-dir', join(s.root, 'never')]);
    assert.equal(tooEarly.code, 37, 'the expired base backup is gone');
    const recovered = join(s.root, 'recovered');
    const restored = run(['pg', 'restore', '--at', target.toISOString(), '--data-dir', recovered, '--json']);
    assert.equal(restored.code, 0, restored.stderr + restored.stdout);
    const report = json<{ base_backup: string; warnings: string[] }>(restored);
    assert.equal(report.base_backup, kept.id);
    assert.deepEqual(report.warnings, []);
    s.clusters.push(recovered);
    const log = join(s.root, 'recovered.log');
    const started = asPostgres('pg_ctl', ['-D', recovered, '-l', log, '-w', '-t', '90', 'start'], s.env);
    assert.equal(started.code, 0, started.stderr + readLog(log));
    await until('promotion after recovery', async () => {
      const [{ r: inRecovery }] = await query<{ r: boolean }>(s.port, 'SELECT pg_is_in_recovery() AS r');
      return inRecovery === false ? true : undefined;
    });
    const rows = await query<{ id: number }>(s.port, 'SELECT id FROM t ORDER BY id');
    assert.deepEqual(
      rows.map((x) => x.id),
      [1, 2],
      readLog(log),
    );
    assert.match(readLog(log), /restored log file "[0-9A-F]{24}" from archive/);
  });
});

/** Every chunk the pg/ records name, those that the `removed` records name, and what the index holds. */
async function referenced(path: string, removed: string[]): Promise<{ all: Set<string>; byRemoved: Set<string>; indexed: Set<string> }> {
  const backend = new LocalBackend(path);
  const repo = await Repository.open(backend, new FixedClock(new Date()));
  const index = await repo.loadIndex();
  const all = new Set<string>();
  const byRemoved = new Set<string>();
  for (const { name: n } of [...(await backend.list('pg/base')), ...(await backend.list('pg/wal'))]) {
    const { content } = JSON.parse((await backend.get(n)).toString('utf8')) as { content: string[] };
    for (const id of content) {
      all.add(id);
      if (removed.includes(n)) byRemoved.add(id);
    }
  }
  return { all, byRemoved, indexed: new Set([...index.entries()].map((b) => b.id)) };
}
