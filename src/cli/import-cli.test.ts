import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { json, prism, tempRootForFile, type CliResult } from '../testing/fixtures.js';

const IMPORT_BIN = fileURLToPath(new URL('../../bin/import_data.js', import.meta.url));
const DB = `prism_import_${process.pid}_${randomBytes(3).toString('hex')}`;
const EMPTY_DB = `${DB}_empty`;
const PG = `postgres://postgres:not-a-secret-pw@127.0.0.1:5432/${DB}`;
const MY = `mysql://root@127.0.0.1:3306/${DB}`;

function importData(args: string[]): CliResult {
  const r = spawnSync(process.execPath, [IMPORT_BIN, ...args], { encoding: 'utf8' });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

async function pgQuery(sql: string, db = DB): Promise<unknown[][]> {
  const c = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: db });
  await c.connect();
  try {
    return (await c.query({ text: sql, rowMode: 'array' })).rows as unknown[][];
  } finally {
    await c.end();
  }
}

async function myQuery(sql: string): Promise<unknown[][]> {
  const c = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root', multipleStatements: true });
  try {
    const [rows] = await c.query({ sql, rowsAsArray: true });
    return rows as unknown[][];
  } finally {
    c.destroy();
  }
}

const SCHEMA = 'CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, price NUMERIC(8,2))';

describe('import_data / prism import into PostgreSQL and MariaDB', () => {
  const root = tempRootForFile();
  const file = (name: string, text: string): string => {
    const p = join(root(), name);
    writeFileSync(p, text);
    return p;
  };
  before(async () => {
    await pgQuery(`CREATE DATABASE ${DB}`, 'postgres');
    await pgQuery(SCHEMA);
    await myQuery(
      `CREATE DATABASE ${DB}; CREATE DATABASE ${EMPTY_DB}; CREATE TABLE ${DB}.items (id INT PRIMARY KEY, name VARCHAR(20) NOT NULL, price DECIMAL(8,2)) ENGINE=InnoDB`,
    );
  });
  after(async () => {
    await pgQuery(`DROP DATABASE IF EXISTS ${DB}`, 'postgres');
    await myQuery(`DROP DATABASE IF EXISTS ${DB}; DROP DATABASE IF EXISTS ${EMPTY_DB}`);
  });

  const targets = [
    { name: 'PostgreSQL', url: PG, rows: () => pgQuery('SELECT id, name FROM items ORDER BY id') },
    { name: 'MariaDB', url: MY, rows: () => myQuery(`SELECT id, name FROM ${DB}.items ORDER BY id`) },
  ];
  for (const t of targets) {
    describe(t.name, () => {
      it('imports CSV with --header and --truncate, all or nothing', async () => {
        const csv = file(`ok-${t.name}.csv`, 'name,id,price\n"Widget, large",1,9.50\nGadget ü,2,3\n');
        const r = json<{ rows: number; duration_ms: number }>(
          importData(['--source', csv, '--target', t.url, '--format', 'csv', '--table', 'items', '--header', '--truncate', '--json']),
        );
        assert.equal(r.rows, 2);
        assert.deepEqual(await t.rows(), [
          [1, 'Widget, large'],
          [2, 'Gadget ü'],
        ]);

        // without --truncate, the same rows collide with the primary key: nothing of the file is added
        const again = prism(['import', '--source', csv, '--target', t.url, '--format', 'csv', '--table', 'items', '--header'], {});
        assert.equal(again.code, 35, again.stderr);
        assert.deepEqual(await t.rows(), [
          [1, 'Widget, large'],
          [2, 'Gadget ü'],
        ]);

        const plain = file(`plain-${t.name}.csv`, '3,Bolt,1.25\n4,Nut,0.10\n5,Screw,0.05\n');
        const p = importData(['--source', plain, '--target', t.url, '--format', 'csv', '--table', 'items', '--truncate']);
        assert.equal(p.code, 0, p.stderr);
        assert.match(p.stdout, /Imported 3 row\(s\) .* in \d+\.\d+ s/);
        assert.deepEqual(await t.rows(), [
          [3, 'Bolt'],
          [4, 'Nut'],
          [5, 'Screw'],
        ]);
      });

      it('a malformed CSV row fails with its line number and imports nothing, even with --truncate', async () => {
        const bad = file(`bad-${t.name}.csv`, 'id,name,price\n10,Good,1\n11,Also good,2\nnot-a-number,Bad,3\n13,Never,4\n');
        const r = importData(['--source', bad, '--target', t.url, '--format', 'csv', '--table', 'items', '--header', '--truncate', '--json']);
        assert.equal(r.code, 35, r.stdout);
        const e = json<{ error: { code: string; line: number; message: string } }>(r).error;
        assert.equal(e.code, 'ERR_PRISM_IMPORT');
        assert.equal(e.line, 4, e.message);
        assert.match(e.message, /line 4/);
        assert.deepEqual(await t.rows(), [
          [3, 'Bolt'],
          [4, 'Nut'],
          [5, 'Screw'],
        ]);
      });

      it('a missing table, wrong credentials and an unreachable host are clear errors', () => {
        const csv = file(`one-${t.name}.csv`, '1,x,1\n');
        const missing = importData(['--source', csv, '--target', t.url, '--format', 'csv', '--table', 'no_such_table']);
        assert.equal(missing.code, 35);
        assert.match(missing.stderr, /ERR_PRISM_IMPORT.*no_such_table/);

        const u = new URL(t.url);
        const wrong = new URL(t.url);
        if (t.name === 'PostgreSQL')
          wrong.username = 'no_such_role'; // trust auth here: a wrong password alone would pass
        else wrong.password = 'wrong-password';
        const denied = importData(['--source', csv, '--target', wrong.toString(), '--format', 'csv', '--table', 'items', '--json']);
        assert.equal(denied.code, 31, denied.stdout);
        assert.equal(json<{ error: { code: string } }>(denied).error.code, 'ERR_PRISM_DB_AUTH');
        assert.doesNotMatch(denied.stdout + denied.stderr, /wrong-password|not-a-secret-pw/);

        u.port = '9'; // nothing listens on the discard port
        const down = importData(['--source', csv, '--target', u.toString(), '--format', 'sql']);
        assert.equal(down.code, 30);
        assert.match(down.stderr, /ERR_PRISM_DB_UNREACHABLE.*unreachable.*ECONNREFUSED/);
        assert.doesNotMatch(down.stderr, /not-a-secret-pw/);
      });

      it('imports a SQL script through the native client; an error names its line and nothing stays', async () => {
        const ok = file(
          `ok-${t.name}.sql`,
          "-- data\nINSERT INTO items VALUES (20, 'twenty', 1);\nINSERT INTO items VALUES (21, 'twenty-one', 2), (22, 'twenty-two', 3);\nUPDATE items SET price = 5 WHERE id = 20;\n",
        );
        const r = json<{ rows: number }>(prism(['import', '--source', ok, '--target', t.url, '--format', 'sql', '--json'], {}));
        assert.equal(r.rows >= 3, true);
        const before = await t.rows();
        assert.deepEqual(before.slice(-3), [
          [20, 'twenty'],
          [21, 'twenty-one'],
          [22, 'twenty-two'],
        ]);

        const bad = file(
          `bad-${t.name}.sql`,
          "INSERT INTO items VALUES (30, 'thirty', 1);\nDELETE FROM items WHERE id = 3;\n\nINSERT INTO items VALUES (31, 'thirty-one', 'not a price');\nINSERT INTO items VALUES (32, 'never', 1);\n",
        );
        const e = importData(['--source', bad, '--target', t.url, '--format', 'sql', '--json']);
        assert.equal(e.code, 35, e.stdout);
        assert.equal(json<{ error: { line: number } }>(e).error.line, 4);
        const missing = file(`missing-${t.name}.sql`, "INSERT INTO items VALUES (40, 'forty', 1);\nINSERT INTO no_such_table VALUES (1);\n");
        const m = importData(['--source', missing, '--target', t.url, '--format', 'sql']);
        assert.equal(m.code, 35);
        assert.match(m.stderr, /line 2.*no_such_table/);
        assert.deepEqual(await t.rows(), before);
      });
    });
  }

  it('MariaDB: a script with DDL goes only into an empty database, and is undone there on failure', async () => {
    const ddl = file(
      'ddl.sql',
      "CREATE TABLE t1 (a INT PRIMARY KEY) ENGINE=InnoDB;\nINSERT INTO t1 VALUES (1), (2);\nCREATE TABLE t2 (b VARCHAR(3));\nINSERT INTO t2 VALUES ('abcdef');\n",
    );
    const refused = importData(['--source', ddl, '--target', MY, '--format', 'sql']);
    assert.equal(refused.code, 35);
    assert.match(refused.stderr, /commits implicitly.*empty database/);
    const failed = importData(['--source', ddl, '--target', `mysql://root@127.0.0.1/${EMPTY_DB}`, '--format', 'sql']);
    assert.equal(failed.code, 35);
    assert.match(failed.stderr, /line 4/);
    assert.deepEqual(await myQuery(`SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${EMPTY_DB}'`), []);
    const good = file(
      'ddl-good.sql',
      'CREATE TABLE t1 (a INT PRIMARY KEY) ENGINE=InnoDB;\nLOCK TABLES `t1` WRITE;\n/*!40000 ALTER TABLE `t1` DISABLE KEYS */;\nINSERT INTO t1 VALUES (1), (2);\n/*!40000 ALTER TABLE `t1` ENABLE KEYS */;\nUNLOCK TABLES;\n',
    );
    const r = json<{ rows: number; mode: string }>(
      importData(['--source', good, '--target', `mysql://root@127.0.0.1/${EMPTY_DB}`, '--format', 'sql', '--json']),
    );
    assert.deepEqual([r.rows, r.mode], [2, 'empty-database']);
    const switching = file('use.sql', 'USE other;\nINSERT INTO items VALUES (1);\n');
    assert.match(importData(['--source', switching, '--target', MY, '--format', 'sql']).stderr, /Line 1 switches or creates a database/);
  });

  it('a connection lost in the middle of a CSV load imports nothing (PostgreSQL and MariaDB)', async () => {
    const big = join(root(), 'big.csv');
    await new Promise<void>((resolve, reject) => {
      const w = createWriteStream(big);
      w.on('error', reject);
      const rows: string[] = [];
      for (let i = 100_000; i < 700_000; i++) rows.push(`${i},name ${i},${i % 1000}.25`);
      w.end(rows.join('\n') + '\n', () => resolve());
    });
    const kills = [
      {
        url: PG,
        count: async () => Number((await pgQuery('SELECT count(*) FROM items'))[0]![0]),
        kill: async () =>
          (await pgQuery("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'prism-import' AND query LIKE 'COPY%'", 'postgres'))
            .length > 0,
      },
      {
        url: MY,
        count: async () => Number((await myQuery(`SELECT count(*) FROM ${DB}.items`))[0]![0]),
        kill: async () => {
          const ids = await myQuery("SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'LOAD DATA%'");
          for (const [id] of ids) await myQuery(`KILL ${Number(id)}`);
          return ids.length > 0;
        },
      },
    ];
    for (const k of kills) {
      const before = await k.count();
      const child = spawn(process.execPath, [IMPORT_BIN, '--source', big, '--target', k.url, '--format', 'csv', '--table', 'items', '--json'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const exited = new Promise<number>((r) => child.on('close', (c) => r(c ?? -1)));
      let killed = false;
      let done = false;
      void exited.then(() => (done = true));
      while (!killed && !done) {
        killed = await k.kill();
        if (!killed) await new Promise((r) => setTimeout(r, 20));
      }
      const code = await exited;
      assert.ok(killed, `the load was seen running (${k.url})`);
      assert.equal(code, 35, stdout);
      assert.equal(JSON.parse(stdout).error.code, 'ERR_PRISM_IMPORT');
      assert.equal(await k.count(), before);
    }
  });

  it('bad command lines are refused with ERR_PRISM_ARGS', () => {
    const csv = file('args.csv', '1,a,1\n');
    const cases: Array<[string[], RegExp]> = [
      [['--source', csv, '--target', PG, '--format', 'csv'], /needs --table/],
      [['--source', csv, '--target', PG, '--format', 'xml'], /--format xml/],
      [['--source', join(root(), 'missing.csv'), '--target', PG, '--format', 'csv', '--table', 'items'], /cannot be read/],
      [['--source', csv, '--target', 'oracle://x/y', '--format', 'csv', '--table', 'items'], /--target oracle:\/\/x\/y .*unknown scheme/],
      [
        ['--source', csv, '--target', 'postgres://u:pw@127.0.0.1', '--format', 'sql'],
        /--target postgres:\/\/u:\*\*\*@127\.0\.0\.1 is not a valid database URL: no database name/,
      ],
      [['--source', csv, '--target', PG, '--format', 'sql', '--header'], /csv only/],
      [['--target', PG, '--format', 'sql'], /--source/],
      [['--source', csv, '--target', PG, '--format', 'sql', '--bogus'], /unknown option/],
    ];
    for (const [args, re] of cases) {
      const r = importData(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re);
      assert.doesNotMatch(r.stderr, /not-a-secret-pw/);
    }
  });
});
