import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DbRestoreReport } from '../app/databases/db-restore.js';
import type { Manifest } from '../repo/index.js';
import { mysqlScratchDb, pgScratchDb, type ScratchDb } from '../testing/databases.js';
import { json, prism, sandbox, type Sandbox } from '../testing/fixtures.js';

/*
 * Single tables restored into another database (--table … --target-url): the foreign keys they
 * carry to tables the target lacks (refused, --without-foreign-keys, --with-dependencies, which
 * follows them transitively and stops at a table the target has), the enums and domains their
 * columns use, and views and partitioned tables named as tables.
 */

const PG_SETUP = `
CREATE SCHEMA app;
CREATE TYPE app.status AS ENUM ('new', 'paid');
CREATE DOMAIN app.qty AS int CHECK (VALUE > 0);
CREATE TABLE app.customers (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE app.orders (id int PRIMARY KEY, customer_id int NOT NULL REFERENCES app.customers (id), status app.status NOT NULL DEFAULT 'new');
CREATE TABLE app.order_lines (id serial PRIMARY KEY, order_id int NOT NULL CONSTRAINT lines_order REFERENCES app.orders (id), qty app.qty NOT NULL);
CREATE VIEW app.order_sizes AS SELECT o.id, sum(l.qty) AS qty FROM app.orders o JOIN app.order_lines l ON l.order_id = o.id GROUP BY o.id;
CREATE TABLE app.readings (taken date NOT NULL, value int) PARTITION BY RANGE (taken);
CREATE TABLE app.readings_2025 PARTITION OF app.readings FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
INSERT INTO app.customers VALUES (1, 'ada'), (2, 'grace');
INSERT INTO app.orders VALUES (10, 1, 'paid'), (11, 2, 'new'), (12, 2, 'paid');
INSERT INTO app.order_lines (order_id, qty) VALUES (10, 1), (10, 2), (11, 3), (12, 4);
INSERT INTO app.readings VALUES ('2025-03-01', 1);
`;
const PG_TABLES = `SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'app';`;
const PG_FKS = `SELECT string_agg(conrelid::regclass::text || '->' || confrelid::regclass::text, ',' ORDER BY conname) FROM pg_constraint WHERE contype = 'f';`;
const PG_LINES = `SELECT string_agg(order_id || ':' || qty, ',' ORDER BY id) FROM app.order_lines;`;

const MY_SETUP = `
CREATE TABLE customers (id int PRIMARY KEY, name varchar(20) NOT NULL);
CREATE TABLE orders (id int PRIMARY KEY, customer_id int NOT NULL, status ENUM('new', 'paid') NOT NULL DEFAULT 'new',
  CONSTRAINT orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id));
CREATE TABLE order_lines (id int AUTO_INCREMENT PRIMARY KEY, order_id int NOT NULL, qty int NOT NULL CHECK (qty > 0),
  CONSTRAINT lines_order FOREIGN KEY (order_id) REFERENCES orders (id));
CREATE VIEW order_sizes AS SELECT o.id, sum(l.qty) AS qty FROM orders o JOIN order_lines l ON l.order_id = o.id GROUP BY o.id;
INSERT INTO customers VALUES (1, 'ada'), (2, 'grace');
INSERT INTO orders VALUES (10, 1, 'paid'), (11, 2, 'new'), (12, 2, 'paid');
INSERT INTO order_lines (order_id, qty) VALUES (10, 1), (10, 2), (11, 3), (12, 4);
`;
const MY_TABLES = `SELECT GROUP_CONCAT(TABLE_NAME ORDER BY TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE();`;
const MY_FKS = `SELECT GROUP_CONCAT(CONCAT(TABLE_NAME, '->', REFERENCED_TABLE_NAME) ORDER BY CONSTRAINT_NAME) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE();`;
const MY_LINES = `SELECT GROUP_CONCAT(CONCAT(order_id, ':', qty) ORDER BY id) FROM order_lines;`;

interface Engine {
  type: 'postgres' | 'mysql';
  scratch: () => ScratchDb;
  setup: string;
  tables: string;
  fks: string;
  lines: string;
  /** Table names as the engine's restore names them. */
  t: (bare: string) => string;
  nullOut: string;
}

const ENGINES: Engine[] = [
  { type: 'postgres', scratch: () => pgScratchDb(), setup: PG_SETUP, tables: PG_TABLES, fks: PG_FKS, lines: PG_LINES, t: (b) => `app.${b}`, nullOut: '' },
  { type: 'mysql', scratch: () => mysqlScratchDb(), setup: MY_SETUP, tables: MY_TABLES, fks: MY_FKS, lines: MY_LINES, t: (b) => b, nullOut: 'NULL' },
];

for (const e of ENGINES) {
  describe(`single tables with foreign keys restored into another database (${e.type})`, () => {
    let sb: Sandbox;
    let src: ScratchDb;
    const scratch: ScratchDb[] = [];
    let backup: Manifest;
    const into = (): ScratchDb => {
      const d = e.scratch();
      scratch.push(d);
      return d;
    };
    const restore = (target: ScratchDb, ...args: string[]) =>
      prism(['db', 'restore', backup.id, '--db', 'main', '--table', e.t('order_lines'), '--target-url', target.url, ...args], sb.env);
    before(() => {
      sb = sandbox();
      src = e.scratch();
      src.sql(e.setup);
      mkdirSync(join(sb.home, 'config'), { recursive: true });
      writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'main', type: e.type, url: src.url }] } }));
      backup = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
    });
    after(() => {
      for (const d of [src, ...scratch]) d?.drop();
      sb.cleanup();
    });

    it('warns in the dry run, names the referenced table, and refuses the run with neither flag: nothing changes', () => {
      const target = into();
      const dry = restore(target, '--dry-run');
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`Warning: ${e.t('order_lines')} has foreign keys to tables .* lacks: lines_order → ${e.t('orders')}`));
      assert.match(dry.stdout, /--with-dependencies/);
      assert.match(dry.stdout, /--without-foreign-keys/);
      const r = restore(target);
      assert.equal(r.code, 43, r.stdout + r.stderr);
      assert.match(r.stderr, /ERR_PRISM_DB_DEPENDENCY/);
      assert.match(r.stderr, new RegExp(`${e.t('orders')}.*nothing was changed`));
      assert.equal(target.sql(e.tables).trim(), e.nullOut);
    });

    it('--without-foreign-keys creates the table without them, with its rows', () => {
      const target = into();
      const r = restore(target, '--without-foreign-keys', '--json');
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const rep = json<DbRestoreReport>(r);
      assert.equal(rep.verified, true);
      assert.match(rep.warnings.join('\n'), /created without its foreign keys: lines_order/);
      assert.equal(target.sql(e.tables).trim(), e.t('order_lines'));
      assert.equal(target.sql(e.fks).trim(), e.nullOut);
      assert.equal(target.sql(e.lines), src.sql(e.lines));
    });

    it('--with-dependencies brings the referenced tables along, transitively, with their keys, types and domains', () => {
      const target = into();
      const dry = restore(target, '--with-dependencies', '--dry-run');
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, new RegExp(`\\+ create +${e.t('orders')}: 3 rows from the backup \\(referenced by ${e.t('order_lines')}\\)`));
      assert.match(dry.stdout, new RegExp(`\\+ create +${e.t('customers')}: 2 rows from the backup \\(referenced by ${e.t('orders')}\\)`));
      assert.doesNotMatch(dry.stdout, /Warning/);
      const r = restore(target, '--with-dependencies', '--json');
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const rep = json<DbRestoreReport>(r);
      assert.equal(rep.verified, true);
      assert.deepEqual(
        rep.tables.map((t) => [t.name, t.action]),
        [
          [e.t('order_lines'), 'create'],
          [e.t('orders'), 'create'],
          [e.t('customers'), 'create'],
        ],
      );
      assert.equal(target.sql(e.fks), src.sql(e.fks));
      assert.equal(target.sql(e.lines), src.sql(e.lines));
      // the enum, the domain's check and the keys hold
      assert.throws(() => target.sql(`INSERT INTO ${e.t('order_lines')} (order_id, qty) VALUES (99, 1);`), /foreign key constraint/i);
      assert.throws(() => target.sql(`INSERT INTO ${e.t('order_lines')} (order_id, qty) VALUES (10, 0);`), /check constraint|CONSTRAINT/i);
      assert.throws(() => target.sql(`UPDATE ${e.t('orders')} SET status = 'gone';`), /enum|Data truncated/i);
      if (e.type === 'postgres') assert.equal(target.sql(`SELECT count(*) FROM pg_views WHERE viewname = 'order_sizes';`).trim(), '0', 'a view is not a table');
    });

    it('--with-dependencies stops at a table the target has: it is not touched, the key is made against it', () => {
      const target = into();
      target.sql(
        e.type === 'postgres'
          ? `CREATE SCHEMA app; CREATE TABLE app.customers (id int PRIMARY KEY, name text NOT NULL); INSERT INTO app.customers VALUES (1, 'ada'), (2, 'grace'), (3, 'new');`
          : `CREATE TABLE customers (id int PRIMARY KEY, name varchar(20) NOT NULL); INSERT INTO customers VALUES (1, 'ada'), (2, 'grace'), (3, 'new');`,
      );
      const r = restore(target, '--with-dependencies', '--json');
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const rep = json<DbRestoreReport>(r);
      assert.deepEqual(
        rep.tables.map((t) => t.name),
        [e.t('order_lines'), e.t('orders')],
      );
      assert.equal(target.sql(`SELECT count(*) FROM ${e.t('customers')};`).trim(), '3');
      assert.equal(target.sql(e.fks), src.sql(e.fks));
    });

    it('a view, or a partitioned table, named as a table: says what it is and what to give instead', () => {
      const target = into();
      const v = prism(['db', 'restore', backup.id, '--db', 'main', '--table', e.t('order_sizes'), '--target-url', target.url, '--dry-run'], sb.env);
      assert.equal(v.code, 2, v.stderr);
      assert.match(v.stderr, new RegExp(`${e.t('order_sizes')}" is a view`));
      if (e.type === 'postgres') {
        const p = prism(['db', 'restore', backup.id, '--db', 'main', '--table', 'app.readings', '--target-url', target.url, '--dry-run'], sb.env);
        assert.equal(p.code, 2, p.stderr);
        assert.match(p.stderr, /"app\.readings" is a partitioned table: its rows are in its partitions app\.readings_2025/);
      }
      const bad = prism(['db', 'restore', backup.id, '--db', 'main', '--with-dependencies', '--dry-run'], sb.env);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--with-dependencies applies to --table restores/);
    });
  });
}
