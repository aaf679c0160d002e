import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DbRecord, Manifest } from '../repo/index.js';
import { mariadb, mysqlScratchDb, pgScratchDb, psqlCopy, uniqueName, type ScratchDb } from '../testing/databases.js';
import { json, prism, sandbox, sizeListing, type Sandbox } from '../testing/fixtures.js';

const PG_SETUP = `
CREATE TABLE kinds (id serial PRIMARY KEY, txt text, bin bytea, doc jsonb, js json, amount numeric(30,10), at timestamptz, day date, flag boolean, tags text[], f float8);
INSERT INTO kinds (txt, bin, doc, js, amount, at, day, flag, tags, f) VALUES
  ('héllo 世界 🚀', '\\x00ff0010'::bytea, '{"a": [1, 2, {"b": null}]}', '{"k":"v"}', 12345678901234567890.0123456789, '2026-02-07 03:00:00+08', '2026-02-07', true, '{x,"y z"}', 0.1),
  (E'tab\\tnew\\nline back\\\\slash ''quote"', '\\x'::bytea, '[]', 'null', -0.0000000001, '1999-12-31 23:59:59.999999-05', '1970-01-01', false, '{}', 1e300),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO kinds (txt, amount, at) SELECT 'row ' || g, g / 7.0, timestamptz '2026-01-01 00:00:00+00' + g * interval '1 minute' FROM generate_series(1, 2000) g;
CREATE TABLE orders (id bigint PRIMARY KEY, kind_id int REFERENCES kinds(id), note text);
INSERT INTO orders SELECT g, g, 'order ' || g FROM generate_series(1, 500) g;
CREATE TABLE empty_t (x int);
`;
const PG_SUM = (t: string) => `SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '-') FROM ${t} x;`;

const MY_SETUP = `
CREATE TABLE kinds (id int AUTO_INCREMENT PRIMARY KEY, txt varchar(200), bin blob, doc json, amount decimal(30,10), at timestamp NULL, dt datetime(6), flag tinyint(1), f double) CHARACTER SET utf8mb4;
INSERT INTO kinds (txt, bin, doc, amount, at, dt, flag, f) VALUES
  ('héllo 世界 🚀 it''s (a) "test"', x'00ff0010', '{"a": [1, 2, {"b": null}]}', 12345678901234567890.0123456789, '2026-02-07 03:00:00', '1999-12-31 23:59:59.999999', 1, 0.1),
  ('tab\\tnew\\nline back\\\\slash);(', x'', '[]', -0.0000000001, '1970-01-02 00:00:00', '2026-02-07 00:00:00', 0, 1e300),
  (NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
CREATE TABLE orders (id bigint PRIMARY KEY, kind_id int, note text);
INSERT INTO orders VALUES (1, 1, 'first'), (2, 2, 'second'), (3, NULL, NULL);
CREATE TABLE empty_t (x int);
`;
const MY_SUM = (t: string) => `CHECKSUM TABLE \`${t}\`; SELECT COUNT(*) FROM \`${t}\`;`;
const mySum = (db: ScratchDb, t: string) =>
  db
    .sql(MY_SUM(t))
    .split('\n')
    .map((l) => l.split('\t').pop())
    .join(',');

function config(sb: Sandbox, databases: unknown[]): void {
  mkdirSync(join(sb.home, 'config'), { recursive: true });
  writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases } }));
}

describe('databases in backups and prism db restore (PostgreSQL, MariaDB)', () => {
  let sb: Sandbox;
  let pgDb: ScratchDb;
  let myDb: ScratchDb;
  const scratch: ScratchDb[] = [];
  let first: Manifest;
  before(() => {
    sb = sandbox();
    writeFileSync(join(sb.home, 'level-1-hot', 'a.json'), '{"a":1}');
    pgDb = pgScratchDb();
    pgDb.sql(PG_SETUP);
    myDb = mysqlScratchDb();
    myDb.sql(MY_SETUP);
    config(sb, [
      { name: 'main', type: 'postgres', url: pgDb.url },
      { name: 'shop', type: 'mysql', url: myDb.url, exclude_tables: ['nothing_*'] },
    ]);
    first = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
  });
  after(() => {
    for (const d of [pgDb, myDb, ...scratch]) d?.drop();
    sb.cleanup();
  });

  it('records every table with its rows and checksum, and backup info / db list / verify show them', () => {
    assert.equal(first.status, 'completed');
    assert.ok(first.db_tree);
    const main = first.databases!.find((d) => d.name === 'main')!;
    assert.deepEqual(
      main.tables.map((t) => [t.name, t.rows]),
      [
        ['public.empty_t', 0],
        ['public.kinds', 2003],
        ['public.orders', 500],
      ],
    );
    assert.equal(main.url, pgDb.url.replace('postgres@127.0.0.1:5432', 'postgres@127.0.0.1:5432'));
    assert.deepEqual(
      main.schema.map((s) => s.part),
      ['pre-data', 'post-data'],
    );
    assert.ok(main.sequences!.some((s) => s.name === 'public.kinds_id_seq' && s.value === '2003'));
    const shop = first.databases!.find((d) => d.name === 'shop')!;
    assert.deepEqual(
      shop.tables.map((t) => [t.name, t.rows]),
      [
        ['empty_t', 0],
        ['kinds', 3],
        ['orders', 3],
      ],
    );
    const info = prism(['backup', 'info', first.id], sb.env);
    assert.match(info.stdout, /Databases:\n {2}main \(postgres, postgres:\/\/postgres@127\.0\.0\.1:5432\/prism_t_/);
    assert.match(info.stdout, /public\.kinds\s+2,003 rows/);
    assert.match(info.stdout, /^ {4}sequence public\.kinds_id_seq = 2003, owned by public\.kinds$/m);
    assert.match(prism(['db', 'list', first.id], sb.env).stdout, /^ {4}sequence public\.kinds_id_seq = 2003, owned by public\.kinds$/m);
    const list = json<{ databases: DbRecord[] }>(prism(['db', 'list', first.id, '--json'], sb.env));
    assert.equal(list.databases.length, 2);
    const verify = prism(['backup', 'verify', first.id, '--json'], sb.env);
    assert.equal(verify.code, 0, verify.stderr);
    const step = json<{ backups: Array<{ steps: Array<{ name: string; ok: boolean }> }> }>(verify).backups[0]!.steps.find((s) => s.name === 'databases');
    assert.equal(step?.ok, true);
  });

  it('round trip: restores the PostgreSQL database whole into another database, identical', () => {
    const other = pgScratchDb();
    scratch.push(other);
    const r = prism(['db', 'restore', first.id, '--db', 'main', '--target-url', other.url, '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    const rep = json<{ verified: boolean; tables: Array<{ name: string; ok: boolean; action: string }> }>(r);
    assert.equal(rep.verified, true);
    assert.ok(rep.tables.every((t) => t.ok && t.action === 'create'));
    for (const t of ['kinds', 'orders', 'empty_t']) assert.equal(other.sql(PG_SUM(t)), pgDb.sql(PG_SUM(t)), t);
    // the schema came along: keys, the foreign key, the sequence at its value
    assert.match(other.sql(`SELECT conname FROM pg_constraint WHERE conrelid = 'orders'::regclass ORDER BY 1;`), /orders_kind_id_fkey\norders_pkey/);
    assert.equal(other.sql(`SELECT nextval('kinds_id_seq');`).trim(), '2004');
  });

  it('round trip: restores the MariaDB database whole into another database, identical', () => {
    const other = mysqlScratchDb();
    scratch.push(other);
    const r = prism(['db', 'restore', first.id, '--db', 'shop', '--target-url', other.url], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /OK {2}kinds: 3 rows \(backup 3\), checksum matches, created/);
    for (const t of ['kinds', 'orders', 'empty_t']) assert.equal(mySum(other, t), mySum(myDb, t), t);
    assert.equal(other.sql('SELECT HEX(bin), txt FROM kinds WHERE id = 1;').trim(), '00FF0010\théllo 世界 🚀 it\'s (a) "test"');
  });

  it("restore checks the manifest's chunks_sha256 against the stored chunks, and a backup that recorded the data's SHA-256 still verifies", () => {
    const file = join(sb.repo, 'snapshots', `${first.id}.json`);
    const original = readFileSync(file, 'utf8');
    const withKinds = (edit: (t: Record<string, unknown>) => void): void => {
      const m = JSON.parse(original) as Manifest;
      edit(m.databases!.find((d) => d.name === 'main')!.tables.find((t) => t.name === 'public.kinds')! as unknown as Record<string, unknown>);
      writeFileSync(file, JSON.stringify(m));
    };
    try {
      const kinds = first.databases!.find((d) => d.name === 'main')!.tables.find((t) => t.name === 'public.kinds')!;
      assert.match(kinds.chunks_sha256 ?? '', /^[0-9a-f]{64}$/);
      assert.equal(kinds.sha256, undefined);
      // a checksum that does not name the stored chunks: refused before anything is restored
      withKinds((t) => void (t['chunks_sha256'] = '0'.repeat(64)));
      const into = pgScratchDb();
      scratch.push(into);
      const bad = prism(['db', 'restore', first.id, '--db', 'main', '--table', 'public.kinds', '--target-url', into.url, '--json'], sb.env);
      assert.equal(bad.code, 15, bad.stderr);
      assert.match(bad.stdout + bad.stderr, /ERR_BACKUP_005/);
      assert.match(bad.stdout + bad.stderr, /public\.kinds does not match its checksum in the manifest/);
      assert.equal(into.sql(`SELECT count(*) FROM pg_tables WHERE tablename = 'kinds';`).trim(), '0', 'nothing was restored');
      // an older backup's record: the SHA-256 of the table's COPY text, compared with the table read back
      const legacy = createHash('sha256').update(psqlCopy(pgDb.name, 'COPY public.kinds TO STDOUT')).digest('hex');
      withKinds((t) => {
        delete t['chunks_sha256'];
        t['sha256'] = legacy;
      });
      const ok = prism(['db', 'restore', first.id, '--db', 'main', '--table', 'public.kinds', '--target-url', into.url, '--json'], sb.env);
      assert.equal(ok.code, 0, ok.stderr + ok.stdout);
      const rep = json<{ verified: boolean; tables: Array<{ sha256_expected: string; sha256_restored: string }> }>(ok);
      assert.equal(rep.verified, true);
      assert.deepEqual([rep.tables[0]!.sha256_expected, rep.tables[0]!.sha256_restored], [legacy, legacy]);
    } finally {
      writeFileSync(file, original);
    }
  });

  it('a second backup of the unchanged databases adds almost nothing to the repository', () => {
    const before = [...sizeListing(join(sb.repo, 'data')).values()].reduce((a, b) => a + b, 0);
    const second = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
    const grown = [...sizeListing(join(sb.repo, 'data')).values()].reduce((a, b) => a + b, 0) - before;
    assert.equal(second.status, 'completed');
    for (const d of second.databases!) assert.equal(d.new_bytes, 0, d.name);
    assert.ok(grown < before * 0.01, `the repository grew by ${grown} of ${before} bytes`);
  });

  it('single-table restore: only that table changes, the others stay as they are, a safety copy keeps the old rows', () => {
    pgDb.sql("DELETE FROM orders WHERE id > 100; UPDATE kinds SET txt = 'changed' WHERE id = 1; INSERT INTO empty_t VALUES (7);");
    const kindsNow = pgDb.sql(PG_SUM('kinds'));
    const dry = prism(['db', 'restore', first.id, '--db', 'main', '--table', 'orders', '--dry-run'], sb.env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /~ overwrite public\.orders: 500 rows from the backup \(now 100 rows/);
    const refused = prism(['db', 'restore', first.id, '--db', 'main', '--table', 'orders'], sb.env);
    assert.equal(refused.code, 17);
    assert.match(refused.stderr, /ERR_PRISM_CONFIRM/);
    const r = prism(['db', 'restore', first.id, '--db', 'main', '--table', 'public.orders', '--confirm', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    const rep = json<{ tables: Array<{ safety_copy: string; rows_restored: number }> }>(r);
    assert.equal(rep.tables[0]!.rows_restored, 500);
    assert.equal(pgDb.sql('SELECT count(*) FROM orders;').trim(), '500');
    assert.equal(pgDb.sql(PG_SUM('kinds')), kindsNow);
    assert.equal(pgDb.sql('SELECT x FROM empty_t;').trim(), '7');
    assert.equal(pgDb.sql(`SELECT count(*) FROM ${rep.tables[0]!.safety_copy};`).trim(), '100');
    // MariaDB: same
    myDb.sql("DELETE FROM orders WHERE id = 3; UPDATE kinds SET txt = 'changed' WHERE id = 1;");
    const myKinds = mySum(myDb, 'kinds');
    const m = prism(['db', 'restore', first.id, '--db', 'shop', '--table', 'orders', '--confirm'], sb.env);
    assert.equal(m.code, 0, m.stderr);
    assert.equal(myDb.sql('SELECT COUNT(*) FROM orders;').trim(), '3');
    assert.equal(mySum(myDb, 'kinds'), myKinds);
  });

  it('restores a dropped table (created from the backup schema) with --at', () => {
    pgDb.sql('DROP TABLE orders;');
    const r = prism(['db', 'restore', '--at', 'now', '--db', 'main', '--table', 'orders'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /OK {2}public\.orders: 500 rows .*created/);
    assert.match(pgDb.sql(`SELECT conname FROM pg_constraint WHERE conrelid = 'orders'::regclass ORDER BY 1;`), /orders_kind_id_fkey\norders_pkey/);
    myDb.sql('DROP TABLE orders;');
    const m = prism(['db', 'restore', '--at', 'now', '--db', 'shop', '--table', 'orders'], sb.env);
    assert.equal(m.code, 0, m.stderr);
    assert.equal(myDb.sql('SELECT COUNT(*) FROM orders;').trim(), '3');
  });

  it('a restore that fails midway leaves the original tables as they were', () => {
    // rows 1–3 pass the check, the backup's 4th row does not: COPY/INSERT fails in the middle
    pgDb.sql('DELETE FROM orders; DELETE FROM kinds WHERE id > 3; ALTER TABLE kinds ADD CONSTRAINT small CHECK (id <= 3);');
    const kindsBefore = pgDb.sql(PG_SUM('kinds'));
    const tablesBefore = pgDb.sql(`SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public';`);
    const r = prism(['db', 'restore', first.id, '--db', 'main', '--table', 'orders', '--table', 'kinds', '--confirm', '--json'], sb.env);
    assert.equal(r.code, 33, r.stderr + r.stdout);
    const e = json<{ error: { code: string; message: string } }>(r).error;
    assert.equal(e.code, 'ERR_PRISM_DB_RESTORE');
    assert.match(e.message, /loading public\.kinds.*rolled back.*small/);
    assert.equal(pgDb.sql(PG_SUM('kinds')), kindsBefore);
    assert.equal(pgDb.sql('SELECT count(*) FROM orders;').trim(), '0', 'orders, restored before kinds failed, is rolled back too');
    assert.equal(
      pgDb.sql(`SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public';`),
      tablesBefore,
      'no safety copy left behind',
    );
    myDb.sql('DELETE FROM orders; DELETE FROM kinds WHERE id > 1; ALTER TABLE kinds ADD CONSTRAINT small CHECK (flag IS NULL OR flag <> 0);');
    const myBefore = [mySum(myDb, 'kinds'), mySum(myDb, 'orders')];
    const myTables = myDb.sql('SHOW TABLES;');
    const m = prism(['db', 'restore', first.id, '--db', 'shop', '--table', 'orders', '--table', 'kinds', '--confirm'], sb.env);
    assert.equal(m.code, 33, m.stderr);
    assert.match(m.stderr, /ERR_PRISM_DB_RESTORE.*loading the tables/);
    assert.deepEqual([mySum(myDb, 'kinds'), mySum(myDb, 'orders')], myBefore);
    assert.equal(myDb.sql('SHOW TABLES;'), myTables);
  });

  it('prune keeps the database data, verify --all stays clean and the dumps still restore', () => {
    const pruned = prism(['backup', 'prune', '--max-unused', '0%', '--json'], sb.env);
    assert.equal(pruned.code, 0, pruned.stderr);
    const v = prism(['backup', 'verify', '--all'], sb.env);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const other = pgScratchDb();
    scratch.push(other);
    const r = prism(['db', 'restore', first.id, '--db', 'main', '--table', 'kinds', '--target-url', other.url], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /public\.kinds: 2,003 rows/);
  });

  it('rejects bad input with clear codes', () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['db', 'restore', first.id], 2, /--db/],
      [['db', 'restore', '--db', 'main'], 2, /Name the backup/],
      [['db', 'restore', first.id, '--db', 'main', '--at', 'now'], 2, /either a backup id or --at/],
      [['db', 'restore', first.id, '--db', 'main', '--dry-run', '--confirm'], 2, /exclude each other/],
      [['db', 'restore', first.id, '--db', 'nope'], 2, /holds no database "nope"; it holds: main, shop/],
      [['db', 'restore', first.id, '--db', 'main', '--table', 'nope'], 2, /Table "nope" is not in the backup/],
      [['db', 'restore', 'backup_20000101_000000_full', '--db', 'main'], 4, /ERR_PRISM_NOT_FOUND/],
      [
        ['db', 'restore', first.id, '--db', 'main', '--target-url', 'mysql://root@127.0.0.1/x'],
        42,
        /ERR_PRISM_DB_ENGINE.*is a PostgreSQL dump, but --target-url mysql:\/\/root@127\.0\.0\.1:3306\/x is a MySQL\/MariaDB database/,
      ],
      [['db', 'restore', first.id, '--db', 'main', '--target-url', 'postgres://postgres:pw@127.0.0.1:1/x'], 30, /ERR_PRISM_DB_UNREACHABLE/],
      [['db', 'restore', first.id, '--db', 'main', '--target-url', 'postgres://postgres@127.0.0.1/no_such_db_prism'], 30, /does not exist/],
      [['db', 'list', 'nonsense'], 4, /not a backup id/],
    ];
    for (const [args, code, msg] of cases) {
      const r = prism(args, sb.env);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg, args.join(' '));
    }
  });
});

describe('database credentials and failures in backups', () => {
  const SECRET = 'S3cr3t-"pw" $x';
  const user = uniqueName('prism_b').slice(0, 30);
  let sb: Sandbox;
  let myDb: ScratchDb;
  before(() => {
    sb = sandbox();
    myDb = mysqlScratchDb();
    myDb.sql("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a');");
    mariadb('test', `CREATE USER '${user}'@'%' IDENTIFIED BY '${SECRET.replace(/'/g, "\\'")}'; GRANT ALL ON \`${myDb.name}\`.* TO '${user}'@'%';`);
  });
  after(() => {
    mariadb('test', `DROP USER IF EXISTS '${user}'@'%';`);
    myDb.drop();
    sb.cleanup();
  });
  const url = (pw?: string) => `mysql://${user}${pw !== undefined ? `:${encodeURIComponent(pw)}` : ''}@127.0.0.1:3306/${myDb.name}`;

  it('takes the password from the URL, password_file or password_env, and never writes it anywhere', () => {
    const pwFile = join(sb.root, 'db.pw');
    writeFileSync(pwFile, `${SECRET}\n`, { mode: 0o600 });
    for (const [db, env] of [
      [{ name: 'a', type: 'mysql', url: url(SECRET) }, {}],
      [{ name: 'a', type: 'mysql', url: url(), password_file: pwFile }, {}],
      [{ name: 'a', type: 'mysql', url: url(), password_env: 'PRISM_TEST_DB_PW' }, { PRISM_TEST_DB_PW: SECRET }],
    ] as const) {
      config(sb, [db]);
      const r = prism(['backup', 'create', '--json'], { ...sb.env, ...env });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(!r.stdout.includes(SECRET) && !r.stdout.includes(encodeURIComponent(SECRET)));
      assert.equal(json<Manifest>(r).databases![0]!.url, `mysql://${user}@127.0.0.1:3306/${myDb.name}`);
    }
    for (const dir of ['snapshots', 'index']) {
      for (const f of readdirSync(join(sb.repo, dir), { recursive: true, withFileTypes: true })) {
        if (f.isFile()) assert.ok(!readFileSync(join(f.parentPath, f.name), 'utf8').includes('S3cr3t'), f.name);
      }
    }
    assert.ok(!readFileSync(join(sb.home, 'logs', 'backup.log'), 'utf8').includes('S3cr3t'));
  });

  it('wrong credentials and an unreachable server fail the backup with their codes, recorded as failed', () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{ name: 'a', type: 'mysql', url: url('wrong-S3cr3t') }, 31, /ERR_PRISM_DB_AUTH.*Authentication as "prism_b_/],
      [{ name: 'a', type: 'mysql', url: `mysql://root:S3cr3t@127.0.0.1:1/${myDb.name}` }, 30, /ERR_PRISM_DB_UNREACHABLE/],
      [
        { name: 'p', type: 'postgres', url: 'postgres://postgres:S3cr3t@127.0.0.1:1/test' },
        30,
        /ERR_PRISM_DB_UNREACHABLE.*postgres:\/\/postgres@127\.0\.0\.1:1\/test/,
      ],
      [{ name: 'p', type: 'postgres', url: 'postgres://no_such_role_prism:S3cr3t@127.0.0.1/test' }, 31, /ERR_PRISM_DB_AUTH/],
      [{ name: 'p', type: 'postgres', url: 'postgres://postgres@127.0.0.1/no_such_db_prism' }, 30, /does not exist/],
      [{ name: 'a', type: 'mysql', url: url(), password_env: 'PRISM_UNSET_PW_VAR' }, 3, /PRISM_UNSET_PW_VAR, which is not set/],
      [
        [
          { name: 'a', type: 'mysql', url: url(SECRET) },
          { name: 'a', type: 'postgres', url: 'postgres://postgres@127.0.0.1/test' },
        ],
        3,
        /names "a" twice/,
      ],
    ];
    for (const [db, code, msg] of cases) {
      config(sb, Array.isArray(db) ? db : [db]);
      const r = prism(['backup', 'create'], sb.env);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, msg);
      assert.ok(!r.stderr.includes('S3cr3t'), r.stderr);
    }
    const failures = prism(['backup', 'list', '--json'], sb.env);
    const failed = json<Manifest[]>(failures).filter((m) => m.status === 'failed');
    assert.ok(failed.some((m) => m.error?.code === 'ERR_PRISM_DB_AUTH'));
    assert.ok(failed.some((m) => m.error?.code === 'ERR_PRISM_DB_UNREACHABLE'));
    assert.ok(!readFileSync(join(sb.home, 'logs', 'backup.log'), 'utf8').includes('S3cr3t'));
  });

  it('a files restore does not depend on the databases: its pre-restore backup leaves them out', () => {
    config(sb, [{ name: 'p', type: 'postgres', url: 'postgres://postgres@127.0.0.1:1/test' }]);
    const done = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env)).find((m) => m.status === 'completed')!;
    writeFileSync(join(sb.home, 'level-1-hot', 'new.json'), '{}');
    const r = prism(['backup', 'restore', done.id, '--confirm', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    const safety = json<{ safety_backup: string }>(r).safety_backup;
    assert.equal(json<Manifest>(prism(['backup', 'info', safety, '--json'], sb.env)).databases, undefined);
  });
});
