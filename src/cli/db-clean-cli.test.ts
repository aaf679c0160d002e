import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DbRestoreReport } from '../app/databases/db-restore.js';
import type { RecoverReport } from '../app/recovery/recover.js';
import type { Manifest } from '../repo/index.js';
import { mysqlScratchDb, pgScratchDb, type ScratchDb } from '../testing/databases.js';
import { json, prism, sandbox, type Sandbox } from '../testing/fixtures.js';

/*
 * `--clean`: a whole-database restore (and `prism recover`) that leaves the database exactly as
 * backed up — what was created after the backup is set aside as safety copies (or dropped with
 * --no-safety-copy), never prism's own safety copies nor a table include/exclude_tables leave out
 * of backups — and recover's rollback that puts it all back.
 */

const PG_SETUP = `
CREATE SCHEMA app;
CREATE TABLE app.customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE app.orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES app.customers (id), qty int);
CREATE VIEW app.big_orders AS SELECT * FROM app.orders WHERE qty > 2;
CREATE FUNCTION app.double(n int) RETURNS int LANGUAGE sql AS 'SELECT n * 2';
CREATE TABLE app.readings (taken date NOT NULL, value int) PARTITION BY RANGE (taken);
CREATE TABLE app.readings_2025 PARTITION OF app.readings FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE app.sessions (id int);
INSERT INTO app.sessions VALUES (1);
INSERT INTO app.customers VALUES (1, 'ada'), (2, 'grace');
INSERT INTO app.orders VALUES (10, 1, 1), (11, 2, 3);
INSERT INTO app.readings VALUES ('2025-03-01', 1);
`;
/** Made after the backup: what --clean removes (in the schema the backup holds) or leaves (another schema, a safety copy). */
const PG_AFTER = `
CREATE TYPE app.mood AS ENUM ('ok', 'sad');
CREATE DOMAIN app.pos AS int CHECK (VALUE > 0);
CREATE SEQUENCE app.ticket;
CREATE TABLE app.notes (id int PRIMARY KEY, customer_id int REFERENCES app.customers (id) ON DELETE CASCADE, mood app.mood, n app.pos DEFAULT nextval('app.ticket'));
INSERT INTO app.notes (id, customer_id, mood) VALUES (1, 1, 'ok'), (2, 2, 'sad');
CREATE VIEW app.moods AS SELECT mood, count(*) FROM app.notes GROUP BY mood;
CREATE MATERIALIZED VIEW app.note_count AS SELECT count(*) AS n FROM app.notes;
CREATE FUNCTION app.double(n bigint) RETURNS bigint LANGUAGE sql AS 'SELECT n * 2';
CREATE FUNCTION app.sad(m app.mood) RETURNS boolean LANGUAGE sql AS $$SELECT m = 'sad'$$;
CREATE TABLE app.readings_2026 PARTITION OF app.readings FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');
INSERT INTO app.readings VALUES ('2026-03-01', 2);
CREATE TABLE app._prism_safety_20250101_000000_orders (id int);
CREATE SCHEMA other;
CREATE TABLE other.t (x int);
INSERT INTO app.orders VALUES (12, 2, 5);
`;
/** Every object of the schemas app and other: relations, types, routines, foreign keys, partitions. */
const PG_OBJECTS = `
SELECT c.relkind::text || ' ' || n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname IN ('app', 'other') AND c.relkind IN ('r', 'p', 'v', 'm', 'S') ORDER BY 1;
SELECT 'type ' || t.typtype::text || ' ' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'app' AND t.typtype IN ('e', 'd') ORDER BY 1;
SELECT 'fn ' || p.oid::regprocedure::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'app' ORDER BY 1;
SELECT 'fk ' || conrelid::regclass::text || ' ' || conname FROM pg_constraint WHERE contype = 'f' ORDER BY 1;
SELECT 'part ' || inhrelid::regclass::text FROM pg_inherits ORDER BY 1;
SELECT 'schema ' || nspname FROM pg_namespace WHERE nspname LIKE '\\_prism%' ORDER BY 1;`;
const PG_ROWS = `SELECT (SELECT string_agg(x::text, ' ' ORDER BY x::text) FROM app.orders x), (SELECT string_agg(x::text, ' ' ORDER BY x::text) FROM app.readings x);`;

const MY_SETUP = `
CREATE TABLE customers (id int PRIMARY KEY, name varchar(20) NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, qty int, CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id));
CREATE VIEW big_orders AS SELECT * FROM orders WHERE qty > 2;
CREATE TABLE sessions (id int);
INSERT INTO sessions VALUES (1);
INSERT INTO customers VALUES (1, 'ada'), (2, 'grace');
INSERT INTO orders VALUES (10, 1, 1), (11, 2, 3);
`;
const MY_AFTER = `
CREATE SEQUENCE ticket;
CREATE TABLE notes (id int PRIMARY KEY, customer_id int, body varchar(20), CONSTRAINT notes_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE);
INSERT INTO notes VALUES (1, 1, 'hello'), (2, 2, 'again');
CREATE TABLE tags (id int PRIMARY KEY, note_id int, CONSTRAINT tags_note FOREIGN KEY (note_id) REFERENCES notes (id));
INSERT INTO tags VALUES (1, 1);
CREATE VIEW note_view AS SELECT * FROM notes;
CREATE TABLE _prism_safety_20250101_000000_orders (id int);
INSERT INTO orders VALUES (12, 2, 5);
`;
const MY_OBJECTS = `SHOW FULL TABLES;
SELECT CONCAT('fk ', TABLE_NAME, ' ', CONSTRAINT_NAME, ' ', REFERENCED_TABLE_NAME, ' ', DELETE_RULE) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY 1;`;
const MY_ROWS = `SELECT GROUP_CONCAT(CONCAT_WS(',', id, customer_id, qty) ORDER BY id SEPARATOR ' ') FROM orders;`;

interface Engine {
  type: 'postgres' | 'mysql';
  scratch: () => ScratchDb;
  setup: string;
  after: string;
  objects: string;
  rows: string;
  /** What --clean removes, as the report names it (kind name). */
  removed: string[];
  exclude: string;
  /** Something the restored database would refuse if a foreign key of a safety copy were left. */
  tied: string;
}

const ENGINES: Engine[] = [
  {
    type: 'postgres',
    scratch: () => pgScratchDb(),
    setup: PG_SETUP,
    after: PG_AFTER,
    objects: PG_OBJECTS,
    rows: PG_ROWS,
    removed: [
      'type app.mood',
      'domain app.pos',
      'sequence app.ticket',
      'table app.notes',
      'view app.moods',
      'materialized view app.note_count',
      'function app.double(bigint)',
      'function app.sad(app.mood)',
      'table app.readings_2026',
    ],
    exclude: 'app.sessions',
    tied: `DELETE FROM app.customers WHERE id = 1;`,
  },
  {
    type: 'mysql',
    scratch: () => mysqlScratchDb(),
    setup: MY_SETUP,
    after: MY_AFTER,
    objects: MY_OBJECTS,
    rows: MY_ROWS,
    removed: ['sequence ticket', 'table notes', 'table tags', 'view note_view'],
    exclude: 'sessions',
    tied: `DELETE FROM customers WHERE id = 1;`,
  },
];

for (const e of ENGINES) {
  describe(`db restore --clean and recover --clean (${e.type})`, () => {
    let db: ScratchDb;
    let sb: Sandbox;
    let backup: Manifest;
    let backedUp: string;
    let backedUpRows: string;
    before(() => {
      db = e.scratch();
      db.sql(e.setup);
      sb = sandbox();
      mkdirSync(join(sb.home, 'config'), { recursive: true });
      writeFileSync(join(sb.home, 'level-1-hot', 'a.json'), '{"a":1}');
      writeFileSync(
        join(sb.home, 'config', 'backup.json'),
        JSON.stringify({ backup: { databases: [{ name: 'main', type: e.type, url: db.url, exclude_tables: [e.exclude] }] } }),
      );
      backup = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
      backedUp = db.sql(e.objects);
      backedUpRows = db.sql(e.rows);
      db.sql(e.after);
    });
    after(() => {
      db?.drop();
      sb?.cleanup();
    });

    it('the dry run lists what --clean would remove and what it keeps; without --clean, what stays', () => {
      const now = db.sql(e.objects);
      const plain = prism(['db', 'restore', backup.id, '--db', 'main', '--dry-run'], sb.env);
      assert.equal(plain.code, 0, plain.stderr);
      assert.match(plain.stdout, /Kept as they are, not in the backup: .*table .*notes.*\(--clean removes them\)/);
      const dry = prism(['db', 'restore', backup.id, '--db', 'main', '--clean', '--dry-run', '--json'], sb.env);
      assert.equal(dry.code, 0, dry.stderr);
      const rep = json<DbRestoreReport>(dry);
      assert.deepEqual(rep.not_in_backup!.objects.map((o) => `${o.kind} ${o.name}`).sort(), [...e.removed].sort());
      assert.deepEqual(rep.not_in_backup!.kept_by_filter, [e.exclude]);
      const text = prism(['db', 'restore', backup.id, '--db', 'main', '--clean', '--dry-run'], sb.env);
      for (const r of e.removed) assert.ok(text.stdout.includes(`- remove    ${r}: not in the backup (set aside as a safety copy)`), text.stdout);
      assert.match(text.stdout, new RegExp(`= keep +table ${e.exclude}: include_tables/exclude_tables leave it out of backups`));
      assert.equal(db.sql(e.objects), now, 'the dry run changes nothing');
    });

    it('recover --clean that fails later is rolled back: what was set aside is back, with its keys and partitions', () => {
      const before = db.sql(e.objects);
      const beforeRows = db.sql(e.rows);
      const rec = prism(['recover', '--from', backup.id, '--clean', '--set', 'backup.compression.level=99', '--json'], sb.env);
      const rr = json<RecoverReport>(rec);
      assert.deepEqual(
        rr.checkpoints.map((c) => [c.n, c.ok]),
        [
          [1, true],
          [2, true],
          [3, false],
        ],
        JSON.stringify(rr.failed),
      );
      assert.match(rr.checkpoints[1]!.checks[0]!.detail, /removed what the backup lacks \(set aside\): .*table .*notes/);
      assert.deepEqual(
        rr.rollback.filter((s) => s.name.startsWith('database')).map((s) => [s.name, s.ok, s.detail]),
        [['database main', true, 'rolled back']],
      );
      assert.equal(rec.code, 38, rec.stderr);
      assert.equal(db.sql(e.objects), before);
      assert.equal(db.sql(e.rows), beforeRows);
      assert.deepEqual(rr.drop_safety_copies, []);
      assert.deepEqual(
        rr.rollback.map((s) => [s.name, s.ok]),
        [
          ['configuration', true],
          ['database main', true],
        ],
      );
      // the files restore changed nothing (no pre-restore backup): the --set edit is undone all the same
      assert.doesNotMatch(readFileSync(join(sb.home, 'config', 'backup.json'), 'utf8'), /"level"\s*:\s*99/);
    });

    it('restores exactly the backup: removed objects kept aside with their rows, no key tying them to the tables kept, then dropped by the printed statements', () => {
      const r = prism(['db', 'restore', backup.id, '--db', 'main', '--clean', '--confirm', '--json'], sb.env);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const rep = json<DbRestoreReport>(r);
      assert.equal(rep.verified, true);
      assert.deepEqual(rep.clean!.removed.map((o) => `${o.kind} ${o.name}`).sort(), [...e.removed].sort());
      assert.ok(rep.clean!.removed.every((o) => o.safety?.startsWith('_prism_safety_')));
      assert.equal(db.sql(e.rows), backedUpRows);
      // what stays besides the backup's objects: the excluded table, prism's safety copies (old and new), another schema
      const now = db.sql(e.objects);
      for (const line of backedUp.trim().split('\n')) assert.ok(now.includes(line), `${line} is there`);
      assert.ok(now.includes('_prism_safety_20250101_000000_orders'), 'an older safety copy is never removed');
      if (e.type === 'postgres') {
        assert.ok(now.includes('r other.t'), 'another schema is not touched');
        assert.equal(db.sql(`SELECT count(*) FROM app.readings;`).trim(), '1', 'the partition made after the backup is detached');
      }
      // no foreign key ties a safety copy to the tables kept: deleting a customer neither cascades into one nor is refused
      db.sql(e.type === 'postgres' ? 'DELETE FROM app.orders WHERE customer_id = 1;' : 'DELETE FROM orders WHERE customer_id = 1;');
      db.sql(e.tied);
      const aside = rep.clean!.removed.find((o) => o.kind === 'table' && /notes$/.test(o.name))!.safety!;
      assert.equal(
        db
          .sql(
            e.type === 'postgres'
              ? `SELECT string_agg(mood::text, ',' ORDER BY id) FROM "${aside}".notes;`
              : `SELECT GROUP_CONCAT(body ORDER BY id) FROM \`${aside}\`;`,
          )
          .trim(),
        e.type === 'postgres' ? 'ok,sad' : 'hello,again',
        'the safety copy keeps its rows',
      );
      const text = prism(['db', 'restore', backup.id, '--db', 'main', '--clean', '--confirm'], sb.env);
      assert.equal(text.code, 0, text.stderr);
      assert.match(text.stdout, /Safety copies are kept\. Drop them when the restored data is confirmed:\n {2}DROP /);
      for (const s of rep.drop_safety_copies) db.sql(s);
      const left = db.sql(e.objects);
      assert.ok(!left.includes(rep.clean!.removed[0]!.safety!), 'the printed statements remove the safety copies');
    });

    it('--clean --no-safety-copy drops what the backup lacks for good', () => {
      db.sql(
        e.type === 'postgres'
          ? 'CREATE TABLE app.scratch (x int); CREATE VIEW app.scratch_v AS SELECT * FROM app.scratch;'
          : 'CREATE TABLE scratch (x int); CREATE VIEW scratch_v AS SELECT * FROM scratch;',
      );
      const r = prism(['db', 'restore', backup.id, '--db', 'main', '--clean', '--no-safety-copy', '--confirm', '--json'], sb.env);
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const rep = json<DbRestoreReport>(r);
      assert.ok(rep.clean!.removed.every((o) => o.safety === null));
      assert.ok(rep.clean!.removed.some((o) => o.kind === 'view'));
      assert.doesNotMatch(db.sql(e.objects), /scratch/);
      const bad = prism(
        ['db', 'restore', backup.id, '--db', 'main', '--clean', '--table', e.type === 'postgres' ? 'app.orders' : 'orders', '--dry-run'],
        sb.env,
      );
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--clean .* cannot be combined with --table/);
    });
  });
}
