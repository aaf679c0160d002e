import assert from 'node:assert/strict';
import { chownSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { TEST_PASSWORD } from '../testing/encrypted.js';
import { json, prism, type CliResult } from '../testing/fixtures.js';
import { pgUser, pitrSuite, query, startArchivingCluster, switchAndWaitArchived } from '../testing/pg-cluster.js';
import { filesUnder } from '../testing/leak-scan.js';

/*
 * PostgreSQL WAL archiving and base backups into an encrypted repository: the first
 * `pg archive-wal` (PostgreSQL's archive_command) creates it encrypted (backup.json), with the
 * password from PRISM_PASSWORD_FILE in the cluster's environment.
 */
describe('PostgreSQL archives in an encrypted repository', () => {
  const s = pitrSuite('prism-enc-pitr-', { backup: { encryption: { enabled: true } } });
  const as = { uid: pgUser.uid, gid: pgUser.gid };

  it('archive-wal and basebackup write sealed records; wal list and verify --all read them; a flipped bit in a WAL record is damage', async () => {
    const password = join(s.root, 'password');
    writeFileSync(password, TEST_PASSWORD, { mode: 0o600 });
    chownSync(password, pgUser.uid, pgUser.gid);
    const env = { ...s.env, PRISM_PASSWORD_FILE: password };
    const repo = join(s.root, 'repo');
    const run = (args: string[]): CliResult => prism([...args, '--repo', repo], env, as);
    const verify = (): CliResult => prism(['backup', 'verify', '--all', '--json'], { ...env, PRISM_BACKUP_PATH: repo }, as);

    s.clusters.push(startArchivingCluster(s.root, s.port, env));
    const base = run(['pg', 'basebackup', '--url', `postgres://postgres@127.0.0.1:${s.port}/postgres`, '--json']);
    assert.equal(base.code, 0, base.stderr + base.stdout);
    const rec = json<{ id: string; stop_wal: string; warnings: string[] }>(base);
    assert.deepEqual(rec.warnings, []);
    await query(s.port, "CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t VALUES (1, 'pitr-marker-6a0e')");
    const last = await switchAndWaitArchived(s.port);

    assert.ok(JSON.parse(readFileSync(join(repo, 'config.json'), 'utf8')).encryption, 'created encrypted');
    const list = json<{ base_backups: Array<{ id: string }>; wal: Array<{ name: string }> }>(run(['pg', 'wal', 'list', '--json']));
    assert.deepEqual(
      list.base_backups.map((b) => b.id),
      [rec.id],
    );
    assert.ok(list.wal.some((w) => w.name === last));
    const good = verify();
    assert.equal(good.code, 0, good.stdout + good.stderr);
    const report = json<{ ok: boolean; pg_archive: unknown }>(good);
    assert.equal(report.ok, true);
    assert.ok(report.pg_archive, 'the archive was verified');

    for (const f of filesUnder(repo)) assert.equal(readFileSync(f).includes('pitr-marker-6a0e'), false, `${f} holds the row`);

    const [record] = readdirSync(join(repo, 'pg', 'wal')).filter((n) => n.startsWith(last));
    const file = join(repo, 'pg', 'wal', record!);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1]! ^= 0x01;
    writeFileSync(file, bytes);
    const bad = verify();
    assert.notEqual(bad.code, 0, bad.stdout);
    assert.match(bad.stdout + bad.stderr, new RegExp(`pg/wal/${record}`));
    assert.doesNotMatch(bad.stdout + bad.stderr, /WRONG_PASSWORD|wrong password/i);
  });
});
