import assert from 'node:assert/strict';
import { chownSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { json } from '../testing/fixtures.js';
import { asPostgres, pitrSuite, query, readLog, startArchivingCluster, switchAndWaitArchived, targetAfterLastCommit, until } from '../testing/pg-cluster.js';

const LAUNCHER = fileURLToPath(new URL('./wal-launcher/prism-wal', import.meta.url));

describe('PostgreSQL archiving and recovering through the WAL launcher prism-wal', () => {
  const s = pitrSuite('prism-walfast-');

  it("archive_command = 'prism-wal archive-wal %p' archives a backlog with most calls answered without node; prism pg restore's restore_command runs it and recovers to a time", async () => {
    assert.ok(existsSync(LAUNCHER), `${LAUNCHER} is built by scripts/build-native.mjs`);
    // node's starts, counted by a PRISM_NODE that logs each one and runs node
    const starts = join(s.root, 'node-starts.log');
    writeFileSync(starts, '');
    chownSync(starts, 0, 0);
    const sentinel = join(s.root, 'node.sh');
    writeFileSync(sentinel, `#!/bin/sh\necho "$2 $3 $4" >> '${starts}'\nexec '${process.execPath}' "$@"\n`, { mode: 0o755 });
    const { pgUser } = await import('../testing/pg-cluster.js');
    chownSync(starts, pgUser.uid, pgUser.gid);
    const env = { ...s.env, PRISM_NODE: sentinel };
    const repo = join(s.root, 'repo');
    const nodeStarts = (what: string) =>
      readFileSync(starts, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith(what)).length;

    // the WAL is held back (archive_command ''), then archived as a backlog of segments
    const data = startArchivingCluster(s.root, s.port, env, [], '');
    s.clusters.push(data);
    await query(s.port, 'CREATE TABLE t (id int PRIMARY KEY, note text)');
    const segments = 10;
    let last = '';
    for (let i = 0; i < segments; i++) {
      await query(s.port, `INSERT INTO t VALUES (${100 + i}, 'backlog')`);
      [{ last }] = await query<{ last: string }>(s.port, 'SELECT pg_walfile_name(pg_switch_wal()) AS last');
    }
    await query(s.port, `ALTER SYSTEM SET archive_command = '${LAUNCHER} archive-wal %p --repo ${repo}'`);
    await query(s.port, 'SELECT pg_reload_conf()');
    await until(
      'the backlog archived',
      async () => {
        const [a] = await query<{ last: string | null }>(s.port, 'SELECT last_archived_wal AS last FROM pg_stat_archiver');
        return a?.last && a.last >= last ? true : undefined;
      },
      180_000,
    );
    const archiveStarts = nodeStarts('pg archive-wal');
    assert.ok(archiveStarts < segments, `${archiveStarts} node starts for ${segments} segments: the launcher answered the others`);
    const [{ failed }] = await query<{ failed: string }>(s.port, 'SELECT failed_count::text AS failed FROM pg_stat_archiver');
    assert.equal(failed, '0');

    const base = asPostgres('pg_ctl', ['-D', data, 'status']);
    assert.equal(base.code, 0);
    const bb = s.run(['pg', 'basebackup', '--url', `postgres://postgres@127.0.0.1:${s.port}/postgres`, '--json']);
    assert.equal(bb.code, 0, bb.stderr + bb.stdout);
    await query(s.port, "INSERT INTO t VALUES (1, 't1')");
    await switchAndWaitArchived(s.port);
    const target = await targetAfterLastCommit(s.port);
    await query(s.port, "INSERT INTO t VALUES (2, 't2')");
    await switchAndWaitArchived(s.port);
    assert.equal(asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).code, 0);

    const recovered = join(s.root, 'recovered');
    const restored = s.run(['pg', 'restore', '--at', target.toISOString(), '--data-dir', recovered, '--json']);
    assert.equal(restored.code, 0, restored.stderr + restored.stdout);
    const report = json<{ restore_command: string }>(restored);
    assert.equal(report.restore_command.split(' ')[0], LAUNCHER);
    assert.match(readFileSync(join(recovered, 'postgresql.auto.conf'), 'utf8'), new RegExp(`^restore_command = '${LAUNCHER} restore-wal %f %p --repo `, 'm'));
    s.clusters.push(recovered);
    const log = join(s.root, 'recovered.log');
    const start = asPostgres('pg_ctl', ['-D', recovered, '-l', log, '-w', '-t', '120', 'start'], env);
    assert.equal(start.code, 0, start.stderr + readLog(log));
    await until('promotion after recovery', async () => {
      const [{ r }] = await query<{ r: boolean }>(s.port, 'SELECT pg_is_in_recovery() AS r');
      return r === false ? true : undefined;
    });
    const rows = await query<{ id: number }>(s.port, 'SELECT id FROM t WHERE id < 100 ORDER BY id');
    assert.deepEqual(
      rows.map((r) => r.id),
      [1],
      readLog(log),
    );
    assert.equal((await query<{ n: string }>(s.port, "SELECT count(*)::text AS n FROM t WHERE note = 'backlog'"))[0]!.n, String(segments));
    assert.ok(nodeStarts('pg restore-wal') >= 1, 'the first restore_command call goes to node (it starts the fetch ahead)');
  });
});
