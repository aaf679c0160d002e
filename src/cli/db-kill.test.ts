import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../repo/index.js';
import { mariadb, mysqlScratchDb, pgScratchDb, psql, type ScratchDb } from '../testing/databases.js';
import { json, prism, prismAsync, sandbox, type Sandbox } from '../testing/fixtures.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Runs `prism ARGS`, kills it with SIGKILL as soon as `busy()` sees its work on the server, and
 * waits until the server has let go of that work too. `what` names it in failures.
 */
async function killWhileBusy(args: string[], env: Record<string, string>, busy: () => boolean, what: string): Promise<void> {
  const child = prismAsync(args, env);
  const closed = new Promise((r) => child.on('close', r));
  let seen = false;
  for (let i = 0; i < 1000 && !seen; i++) {
    seen = busy();
    if (!seen) await sleep(5);
  }
  assert.ok(seen, `${what} was seen running`);
  child.kill('SIGKILL');
  await closed;
  // the tool loses its reader (or its input) and ends; the server's query and snapshot go with it
  for (let i = 0; i < 100 && busy(); i++) await sleep(100);
  assert.equal(busy(), false, `${what} is no longer running on the server`);
}

describe('a database backup killed mid-dump (kill -9)', () => {
  let sb: Sandbox;
  let db: ScratchDb;
  const scratch: ScratchDb[] = [];
  /** COPYs of the large table the server is running (not a finished one of an idle connection). */
  const copies = () =>
    Number(
      psql(
        'postgres',
        `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db.name}' AND state = 'active' AND query LIKE 'COPY%big%' AND pid <> pg_backend_pid();`,
      ).trim(),
    );
  before(() => {
    sb = sandbox();
    db = pgScratchDb();
    // large enough to take a while to stream
    db.sql(
      'CREATE TABLE big (id int PRIMARY KEY, v text); INSERT INTO big SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, 400000) g; CREATE TABLE small (id int); INSERT INTO small VALUES (1), (2);',
    );
    mkdirSync(join(sb.home, 'config'), { recursive: true });
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'main', type: 'postgres', url: db.url }] } }));
  });
  after(() => {
    for (const d of [db, ...scratch]) d?.drop();
    sb.cleanup();
  });
  /** A MariaDB scratch database with the same 400k-row table `big`. */
  const bigMysql = (): ScratchDb => {
    const my = mysqlScratchDb();
    scratch.push(my);
    my.sql('CREATE TABLE big (id int PRIMARY KEY, v text); INSERT INTO big SELECT seq, REPEAT(MD5(seq), 6) FROM seq_1_to_400000;');
    return my;
  };
  const mySum = (d: ScratchDb) =>
    d
      .sql('CHECKSUM TABLE big; SELECT COUNT(*) FROM big;')
      .trim()
      .split('\n')
      .map((l) => l.split('\t').pop())
      .join(',');

  it('while a table streams: the attempt is failed, its COPY and the lock are gone, verify is clean, the next backup restores', async () => {
    const first = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
    assert.equal(first.status, 'completed');
    db.sql("UPDATE big SET v = v || 'changed' WHERE id % 997 = 0;");

    await killWhileBusy(['backup', 'create'], sb.env, () => copies() > 0, 'the COPY');

    const list = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    assert.equal(list[0]!.status, 'failed');
    assert.equal(list[0]!.error!.code, 'ERR_PRISM_INTERRUPTED');
    assert.equal(list[1]!.id, first.id);
    const verified = prism(['backup', 'verify', '--all'], sb.env);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);

    const next = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
    assert.equal(next.status, 'completed');
    assert.deepEqual(readdirSync(join(sb.repo, 'locks')), [], "the dead process's lock was stale: removed, it blocked nothing");
    const into = pgScratchDb();
    scratch.push(into);
    const r = prism(['db', 'restore', next.id, '--db', 'main', '--target-url', into.url, '--confirm', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(json<{ verified: boolean }>(r).verified, true);
    const sum = (d: ScratchDb) => d.sql("SELECT count(*) || ':' || md5(string_agg(v, '|' ORDER BY id)) FROM big;").trim();
    assert.equal(sum(into), sum(db));
  });

  it('while mariadb-dump streams a table: the same for MySQL/MariaDB', async () => {
    const my = bigMysql();
    const box = sandbox();
    try {
      writeFileSync(join(box.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'shop', type: 'mysql', url: my.url }] } }));
      const dumping = () =>
        Number(mariadb('test', `SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = '${my.name}' AND INFO LIKE 'SELECT%big%';`).trim());
      await killWhileBusy(['backup', 'create'], box.env, () => dumping() > 0, 'the dump');
      const list = json<Manifest[]>(prism(['backup', 'list', '--json'], box.env));
      assert.deepEqual([list[0]!.status, list[0]!.error!.code], ['failed', 'ERR_PRISM_INTERRUPTED']);
      assert.equal(prism(['backup', 'verify', '--all'], box.env).code, 0);
      const next = json<Manifest>(prism(['backup', 'create', '--json'], box.env));
      assert.equal(next.status, 'completed');
      const into = mysqlScratchDb();
      scratch.push(into);
      const r = prism(['db', 'restore', next.id, '--db', 'shop', '--target-url', into.url, '--confirm', '--json'], box.env);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(mySum(into), mySum(my));
      assert.match(mySum(my), /^\d+,400000$/);
    } finally {
      box.cleanup();
    }
  });

  it('db restore killed while it loads a table: the table is as it was before the restore (PostgreSQL and MariaDB)', async () => {
    const my = bigMysql();
    const box = sandbox();
    try {
      writeFileSync(
        join(box.home, 'config', 'backup.json'),
        JSON.stringify({
          backup: {
            databases: [
              { name: 'main', type: 'postgres', url: db.url },
              { name: 'shop', type: 'mysql', url: my.url },
            ],
          },
        }),
      );
      const m = json<Manifest>(prism(['backup', 'create', '--json'], box.env));
      assert.equal(m.status, 'completed');
      const cases = [
        {
          name: 'main',
          target: db,
          table: 'public.big',
          loading: () => copies() > 0,
          sum: () => db.sql("SELECT count(*) || ':' || md5(string_agg(v, '|' ORDER BY id)) FROM big;").trim(),
        },
        {
          name: 'shop',
          target: my,
          table: 'big',
          loading: () =>
            Number(mariadb('test', `SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = '${my.name}' AND INFO LIKE 'INSERT INTO%big%';`).trim()) > 0,
          sum: () => mySum(my),
        },
      ];
      for (const c of cases) {
        c.target.sql('DELETE FROM big WHERE id > 1000;'); // the state a restore would replace
        const before = c.sum();
        await killWhileBusy(['db', 'restore', m.id, '--db', c.name, '--table', c.table, '--confirm'], box.env, c.loading, `${c.name}: the load`);
        assert.equal(c.sum(), before, `${c.name}: the open transaction was rolled back with the connection: no half-loaded table`);
        // and a restore run again completes
        const again = prism(['db', 'restore', m.id, '--db', c.name, '--table', c.table, '--confirm', '--no-safety-copy', '--json'], box.env);
        assert.equal(again.code, 0, again.stderr + again.stdout);
        assert.equal(json<{ verified: boolean }>(again).verified, true);
      }
    } finally {
      box.cleanup();
    }
  });
});
