import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RecoverReport } from '../app/recovery/recover.js';
import type { Manifest } from '../repo/index.js';
import { mysqlScratchDb, pgScratchDb, type ScratchDb } from '../testing/databases.js';
import { hashTree, json, prism, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';

const PG_STATE = `SELECT count(*) || ':' || coalesce(string_agg(id || '=' || v, ',' ORDER BY id), '') FROM items;`;
const PG_TABLES = `SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public';`;

describe('prism recover (disaster-recovery runbook)', () => {
  let sb: Sandbox;
  let pgDb: ScratchDb;
  let myDb: ScratchDb;
  let backup: Manifest;
  let backupFiles: Map<string, string>;
  before(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 6 });
    pgDb = pgScratchDb();
    pgDb.sql(`CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 50) g;`);
    myDb = mysqlScratchDb();
    myDb.sql(`CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items VALUES (1, 'a'), (2, 'b');`);
    const marker = join(sb.root, 'rebuilt');
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: {
          databases: [
            { name: 'main', type: 'postgres', url: pgDb.url },
            { name: 'shop', type: 'mysql', url: myDb.url },
          ],
          recovery: { rebuild_hooks: [`echo reindexed > ${marker}`] },
        },
      }),
    );
    backup = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
    backupFiles = hashTree(sb.home);
  });
  after(() => {
    pgDb.drop();
    myDb.drop();
    sb.cleanup();
  });

  /** The "disaster": rows lost in both databases, a data file changed. */
  function damage(): void {
    pgDb.sql(`DELETE FROM items WHERE id > 10; UPDATE items SET v = 'broken' WHERE id = 1;`);
    myDb.sql(`DELETE FROM items WHERE id = 2;`);
    writeFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), '{"damaged":true}');
  }

  it('--dry-run checks the environment (checkpoint 1) and changes nothing', () => {
    damage();
    const before = [pgDb.sql(PG_STATE), myDb.sql('SELECT * FROM items;'), hashTree(sb.home)];
    const r = prism(['recover', '--dry-run', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const rep = json<RecoverReport>(r);
    assert.equal(rep.backup, backup.id);
    assert.deepEqual(
      rep.checkpoints.map((c) => [c.n, c.ok]),
      [[1, true]],
    );
    const names = rep.checkpoints[0]!.checks.map((c) => c.name);
    for (const n of ['backup', 'tools main', 'tools shop', 'database main', 'database shop', 'disk space', 'data directory']) assert.ok(names.includes(n), n);
    assert.deepEqual([pgDb.sql(PG_STATE), myDb.sql('SELECT * FROM items;'), hashTree(sb.home)], before);
  });

  it('a failing checkpoint 3 rolls back checkpoints 1–2: databases and files are as they were before', () => {
    const before = {
      pg: pgDb.sql(PG_STATE),
      pgTables: pgDb.sql(PG_TABLES),
      my: myDb.sql('SELECT * FROM items;'),
      myTables: myDb.sql('SHOW TABLES;'),
      files: hashTree(sb.home),
    };
    // the adjusted configuration does not validate: checkpoint 3 fails after the files were restored
    const r = prism(['recover', '--from', backup.id, '--set', 'backup.compression.level=99', '--json'], sb.env);
    assert.equal(r.code, 38, r.stderr + r.stdout);
    const rep = json<RecoverReport>(r);
    assert.deepEqual(
      rep.checkpoints.map((c) => [c.n, c.ok]),
      [
        [1, true],
        [2, true],
        [3, false],
      ],
    );
    assert.equal(rep.failed?.checkpoint, 3);
    assert.match(rep.failed!.reason, /compression\.level/);
    assert.deepEqual(
      rep.rollback.map((s) => [s.name, s.ok]),
      [
        ['files', true],
        ['database shop', true],
        ['database main', true],
      ],
    );
    assert.equal(pgDb.sql(PG_STATE), before.pg);
    assert.equal(pgDb.sql(PG_TABLES), before.pgTables, 'no safety copy left');
    assert.equal(myDb.sql('SELECT * FROM items;'), before.my);
    assert.equal(myDb.sql('SHOW TABLES;'), before.myTables);
    assert.deepEqual(hashTree(sb.home), before.files);
    assert.match(readFileSync(join(sb.home, 'logs', 'backup-restore.log'), 'utf8'), /"event":"recover.rollback"/);
    const text = prism(['recover', '--from', backup.id, '--set', 'backup.compression.level=99'], sb.env);
    assert.equal(text.code, 38);
    assert.match(text.stdout, /Checkpoint 3 \(configuration and files restored\): FAILED/);
    assert.match(text.stderr, /ERR_PRISM_RECOVER/);
  });

  it('recovers databases, files and adjusted configuration, runs the rebuild hooks and checks health', () => {
    const r = prism(['recover', '--set', 'gateway.json:db.host=10.0.0.5', '--set', 'gateway.json:port=9090', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const rep = json<RecoverReport>(r);
    assert.deepEqual(
      rep.checkpoints.map((c) => [c.n, c.ok]),
      [
        [1, true],
        [2, true],
        [3, true],
        [4, true],
      ],
    );
    assert.equal(pgDb.sql(PG_STATE).split(':')[0], '50');
    assert.equal(myDb.sql('SELECT COUNT(*) FROM items;').trim(), '2');
    const gateway = JSON.parse(readFileSync(join(sb.home, 'config', 'gateway.json'), 'utf8'));
    assert.deepEqual([gateway.db.host, gateway.port], ['10.0.0.5', 9090]);
    const now = hashTree(sb.home);
    for (const [p, h] of backupFiles) if (p !== 'config/gateway.json') assert.equal(now.get(p), h, p);
    assert.ok(existsSync(join(sb.root, 'rebuilt')));
  });

  it('rejects bad input', () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['recover', '--from', backup.id, '--at', 'now'], 2, /either --from ID or --at/],
      [['recover', '--set', 'novalue'], 2, /expected key=value/],
      [['recover', '--from', 'backup_20000101_000000_full'], 4, /ERR_PRISM_NOT_FOUND/],
      [['recover', '--at', '2000-01-01'], 4, /No completed backup/],
    ];
    for (const [args, code, msg] of cases) {
      const r = prism(args, sb.env);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
  });
});
