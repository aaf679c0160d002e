import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../repo/index.js';
import { mysqlScratchDb, pgScratchDb, type ScratchDb } from '../testing/databases.js';
import { json, prism, sandbox, type Sandbox } from '../testing/fixtures.js';

function configure(sb: Sandbox, databases: unknown[]): void {
  writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases } }));
}

describe('prism db restore into another engine than the backup (PostgreSQL ↔ MariaDB)', () => {
  let sb: Sandbox;
  let pgDb: ScratchDb;
  let myDb: ScratchDb;
  let backup: Manifest;
  before(() => {
    sb = sandbox();
    writeFileSync(join(sb.home, 'level-1-hot', 'a.json'), '{"a":1}');
    pgDb = pgScratchDb();
    pgDb.sql('CREATE TABLE accounts (id int PRIMARY KEY, owner text); INSERT INTO accounts VALUES (1, $$pg$$);');
    myDb = mysqlScratchDb();
    myDb.sql("CREATE TABLE orders (id int PRIMARY KEY, item varchar(20)); INSERT INTO orders VALUES (1, 'my');");
    configure(sb, [
      { name: 'app', type: 'postgres', url: pgDb.url },
      { name: 'shop', type: 'mysql', url: myDb.url },
    ]);
    backup = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
    assert.equal(backup.status, 'completed');
  });
  after(() => {
    pgDb?.drop();
    myDb?.drop();
    sb.cleanup();
  });

  it('a PostgreSQL backup of "app", now configured as MySQL: refused with ERR_PRISM_DB_ENGINE, the MariaDB database untouched', () => {
    // the same names, the engines swapped: "app" now lives in the MariaDB database, "shop" in the PostgreSQL one
    configure(sb, [
      { name: 'app', type: 'mysql', url: myDb.url },
      { name: 'shop', type: 'postgres', url: pgDb.url },
    ]);
    const before = myDb.sql('SHOW TABLES;');
    for (const mode of ['--dry-run', '--confirm']) {
      const r = prism(['db', 'restore', backup.id, '--db', 'app', mode], sb.env);
      assert.equal(r.code, 42, `${mode}: ${r.stdout}${r.stderr}`);
      assert.match(
        r.stderr,
        /^Error \[ERR_PRISM_DB_ENGINE\] The backup of database "app" is a PostgreSQL dump, but backup\.databases configures "app" as MySQL\/MariaDB now \(type "mysql"\); a dump restores only into the engine it came from\./m,
      );
      assert.match(r.stderr, /--target-url \(a postgres:\/\/… URL\)/);
      assert.doesNotMatch(r.stderr, /copyData|ERR_PRISM_INTERNAL/);
    }
    assert.equal(myDb.sql('SHOW TABLES;'), before, 'no table created, no safety copy');
    const j = prism(['db', 'restore', backup.id, '--db', 'app', '--confirm', '--json'], sb.env);
    assert.equal(j.code, 42);
    assert.equal(json<{ error: { code: string } }>(j).error.code, 'ERR_PRISM_DB_ENGINE');
  });

  it('the reverse: a MySQL backup of "shop", now configured as PostgreSQL, is refused the same way', () => {
    configure(sb, [
      { name: 'app', type: 'mysql', url: myDb.url },
      { name: 'shop', type: 'postgres', url: pgDb.url },
    ]);
    const before = pgDb.sql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public';");
    const r = prism(['db', 'restore', backup.id, '--db', 'shop', '--confirm'], sb.env);
    assert.equal(r.code, 42, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      /^Error \[ERR_PRISM_DB_ENGINE\] The backup of database "shop" is a MySQL\/MariaDB dump, but backup\.databases configures "shop" as PostgreSQL now \(type "postgres"\)/m,
    );
    assert.match(r.stderr, /a mysql:\/\/… URL/);
    assert.equal(pgDb.sql("SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_tables WHERE schemaname = 'public';"), before);
  });

  it('refused before connecting: the mismatched server need not even be reachable; --target-url of the other engine likewise', () => {
    configure(sb, [{ name: 'app', type: 'mysql', url: 'mysql://root@127.0.0.1:1/app' }]);
    const r = prism(['db', 'restore', backup.id, '--db', 'app', '--dry-run'], sb.env);
    assert.equal(r.code, 42, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, /UNREACHABLE/);
    const t = prism(['db', 'restore', backup.id, '--db', 'shop', '--dry-run', '--target-url', 'postgres://postgres@127.0.0.1:1/x'], sb.env);
    assert.equal(t.code, 42, t.stdout + t.stderr);
    assert.match(
      t.stderr,
      /^Error \[ERR_PRISM_DB_ENGINE\] The backup of database "shop" is a MySQL\/MariaDB dump, but --target-url postgres:\/\/postgres@127\.0\.0\.1:1\/x is a PostgreSQL database;/m,
    );
  });

  it('with the engines as they were, the same restore works', () => {
    configure(sb, [
      { name: 'app', type: 'postgres', url: pgDb.url },
      { name: 'shop', type: 'mysql', url: myDb.url },
    ]);
    pgDb.sql('DELETE FROM accounts;');
    const r = prism(['db', 'restore', backup.id, '--db', 'app', '--confirm', '--no-safety-copy'], sb.env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(pgDb.sql('SELECT owner FROM accounts;').trim(), 'pg');
  });
});
