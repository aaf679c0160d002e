import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { json } from '../testing/fixtures.js';
import { asPostgres, pitrSuite, query, readLog, startArchivingCluster, switchAndWaitArchived, targetAfterLastCommit, until } from '../testing/pg-cluster.js';

interface RestoreReport {
  base_backup: string;
  timeline: number;
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

  it('a time on timeline 1 after a restored cluster forked timeline 2 into the archive recovers timeline 1', async () => {
    const a = startArchivingCluster(s.root, s.port, s.env);
    s.clusters.push(a);
    const base = run(['pg', 'basebackup', '--url', `postgres://postgres@127.0.0.1:${s.port}/postgres`, '--json']);
    assert.equal(base.code, 0, base.stderr + base.stdout);
    await sql('CREATE TABLE t (id int PRIMARY KEY)');
    await sql('INSERT INTO t VALUES (1)');
    const fork = await targetAfterLastCommit(s.port);
    await sql('INSERT INTO t VALUES (2)');
    const t1 = await targetAfterLastCommit(s.port);
    await sql('INSERT INTO t VALUES (3)');
    await switchAndWaitArchived(s.port);
    stop(a);

    // a recovered copy of the cluster (to `fork`) archives its timeline 2 into the same repository
    const b = join(s.root, 'b');
    restore(['--at', fork.toISOString(), '--data-dir', b, '--archive-mode', 'preserve']);
    start(b, 'b');
    await promoted();
    assert.deepEqual(await ids(), [1]);
    await sql('INSERT INTO t VALUES (10)');
    await switchAndWaitArchived(s.port);
    await until('timeline 2 archived', async () => (walNames().includes('00000002.history') ? true : undefined));
    stop(b);

    // t1 is on timeline 1, after the point where timeline 2 left it, and before timeline 2 began
    const c = join(s.root, 'c');
    const rc = restore(['--at', t1.toISOString(), '--data-dir', c]);
    const log = start(c, 'c');
    await promoted();
    assert.deepEqual(await ids(), [1, 2], readLog(log));
    assert.equal(rc.timeline, 1);
    stop(c);
  });
});
