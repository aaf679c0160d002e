import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RecoverReport } from '../app/recovery/recover.js';
import type { Manifest } from '../repo/index.js';
import { mysqlScratchDb, type ScratchDb } from '../testing/databases.js';
import { json, prism, sandbox, type Sandbox } from '../testing/fixtures.js';

/** An audit trigger that writes into another table, created in a session of its own sql_mode. */
const SETUP = `
CREATE TABLE orders (id int PRIMARY KEY, qty int);
CREATE TABLE audit (n int AUTO_INCREMENT PRIMARY KEY, order_id int, what varchar(10));
SET SESSION sql_mode = 'ANSI_QUOTES';
CREATE TRIGGER orders_ins AFTER INSERT ON orders FOR EACH ROW INSERT INTO audit (order_id, what) VALUES (NEW.id, 'insert');
CREATE TRIGGER orders_del AFTER DELETE ON orders FOR EACH ROW INSERT INTO audit (order_id, what) VALUES (OLD.id, 'delete');
SET SESSION sql_mode = DEFAULT;
INSERT INTO orders VALUES (1, 10), (2, 20), (3, 30);
`;
const TRIGGERS = `SELECT TRIGGER_NAME, ACTION_ORDER, SQL_MODE FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY TRIGGER_NAME;`;

describe('MariaDB: restores in place do not fire the tables’ triggers', () => {
  let db: ScratchDb;
  let sb: Sandbox;
  let backup: Manifest;
  before(() => {
    db = mysqlScratchDb();
    db.sql(SETUP);
    sb = sandbox();
    mkdirSync(join(sb.home, 'config'), { recursive: true });
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'shop', type: 'mysql', url: db.url }] } }));
    const r = prism(['backup', 'create', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    backup = json<Manifest>(r);
  });
  after(() => {
    db?.drop();
    sb?.cleanup();
  });

  it('a single table restored: the table its trigger writes into is untouched, and the triggers are there as they were', () => {
    db.sql('DELETE FROM orders WHERE id = 3;');
    const audit = db.sql('SELECT * FROM audit ORDER BY n;');
    const triggers = db.sql(TRIGGERS);
    assert.match(triggers, /orders_del\t1\tANSI_QUOTES\norders_ins\t1\tANSI_QUOTES\n/);
    const r = prism(['db', 'restore', backup.id, '--db', 'shop', '--table', 'orders', '--confirm', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(db.sql('SELECT * FROM orders ORDER BY id;'), '1\t10\n2\t20\n3\t30\n');
    assert.equal(db.sql('SELECT * FROM audit ORDER BY n;'), audit, 'no row written by a trigger');
    assert.equal(db.sql(TRIGGERS), triggers);
    assert.match(readFileSync(join(sb.home, 'logs', 'backup-restore.log'), 'utf8'), /"event":"db.restore.triggers".*orders_ins/);
    // and they fire for new rows
    db.sql('INSERT INTO orders VALUES (4, 40);');
    assert.match(db.sql('SELECT order_id, what FROM audit ORDER BY n DESC LIMIT 1;'), /^4\tinsert\n$/);
    db.sql(`DROP TABLE \`${json<{ tables: Array<{ safety_copy: string }> }>(r).tables[0]!.safety_copy}\`;`);
  });

  it("recover's rollback puts the rows back without firing them", () => {
    db.sql('DELETE FROM orders WHERE id = 1;');
    const state = [db.sql('SELECT * FROM orders ORDER BY id;'), db.sql('SELECT * FROM audit ORDER BY n;'), db.sql(TRIGGERS)];
    const r = prism(['recover', '--from', backup.id, '--set', 'backup.compression.level=99', '--json'], sb.env);
    assert.equal(r.code, 38, r.stderr);
    assert.deepEqual(
      json<RecoverReport>(r)
        .rollback.filter((s) => s.name.startsWith('database'))
        .map((s) => [s.name, s.ok]),
      [['database shop', true]],
    );
    assert.deepEqual([db.sql('SELECT * FROM orders ORDER BY id;'), db.sql('SELECT * FROM audit ORDER BY n;'), db.sql(TRIGGERS)], state);
  });
});
