import assert from 'node:assert/strict';
import { readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../repo/index.js';
import { mysqlScratchDb, pgScratchDb, type ScratchDb } from '../testing/databases.js';
import { TEST_PASSWORD } from '../testing/encrypted.js';
import { json, prism, sandbox, writeDataset, type CliResult, type Sandbox } from '../testing/fixtures.js';
import { zstdDecompressMaybe, filesUnder } from '../testing/leak-scan.js';

/*
 * An encrypted repository created by the first `prism backup create` (backup.encryption.enabled
 * in backup.json), with a PostgreSQL and a MariaDB database: backup, `db restore` (whole and one
 * table), and then nothing of the data, the names, the paths, the host or the user is found in
 * any repository file, compressed streams inflated.
 */
describe('encrypted repository created by the CLI: databases restore, nothing leaks', () => {
  let sb: Sandbox;
  let env: Record<string, string>;
  const scratch: ScratchDb[] = [];
  let pg: ScratchDb;
  let my: ScratchDb;
  const M = {
    name: 'mkname4f1a',
    content: 'mkcontent8b2c',
    link: 'mklinkd93e',
    comment: 'mkcomment71c5',
    pgRow: 'mkpgrow2e6a',
    myRow: 'mkmyrowc04b',
    table: 'mktable5d7f',
  };
  const cli = (args: string[]): CliResult => {
    const r = prism(args, env);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };

  before(() => {
    sb = sandbox();
    const password = join(sb.root, 'password');
    writeFileSync(password, TEST_PASSWORD, { mode: 0o600 });
    env = { ...sb.env, PRISM_PASSWORD_FILE: password };
    pg = pgScratchDb('mkdbpg');
    my = mysqlScratchDb('mkdbmy');
    scratch.push(pg, my);
    pg.sql(`CREATE TABLE ${M.table} (id int PRIMARY KEY, secret text); INSERT INTO ${M.table} SELECT g, '${M.pgRow}-' || g FROM generate_series(1, 500) g;`);
    pg.sql(`CREATE TABLE other (id int PRIMARY KEY, note text); INSERT INTO other VALUES (1, 'plain');`);
    my.sql(`CREATE TABLE ${M.table} (id int PRIMARY KEY, secret text); INSERT INTO ${M.table} VALUES (1, '${M.myRow}-1'), (2, '${M.myRow}-2');`);
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: {
          encryption: { enabled: true },
          databases: [
            { name: 'main', type: 'postgres', url: pg.url },
            { name: 'shop', type: 'mysql', url: my.url },
          ],
        },
      }),
    );
    writeDataset(sb.home, { files: 6 });
    writeFileSync(join(sb.home, 'level-1-hot', `${M.name}.json`), JSON.stringify({ secret: M.content.repeat(100) }));
    symlinkSync(`/srv/${M.link}/target`, join(sb.home, 'level-2-warm', 'pointer'));
  });
  after(() => {
    for (const db of scratch) db.drop();
    sb.cleanup();
  });

  it('backup, db restore (whole and one table); no marker, path, host or user name in any repository file', () => {
    const m = json<Manifest>(cli(['backup', 'create', '--comment', M.comment, '--json']));
    assert.equal(m.status, 'completed');
    assert.deepEqual(m.databases!.map((d) => d.name).sort(), ['main', 'shop']);
    const config = JSON.parse(readFileSync(join(sb.repo, 'config.json'), 'utf8')) as { encryption?: unknown };
    assert.ok(config.encryption, 'the repository is encrypted');

    const intoPg = pgScratchDb('mkdbpg');
    const intoMy = mysqlScratchDb('mkdbmy');
    const onePg = pgScratchDb('mkdbpg');
    scratch.push(intoPg, intoMy, onePg);
    for (const [db, into] of [
      ['main', intoPg],
      ['shop', intoMy],
    ] as const) {
      const r = json<{ verified: boolean }>(cli(['db', 'restore', m.id, '--db', db, '--target-url', into.url, '--json']));
      assert.equal(r.verified, true, db);
    }
    assert.equal(intoPg.sql(`SELECT secret FROM ${M.table} WHERE id = 500;`).trim(), `${M.pgRow}-500`);
    assert.equal(intoMy.sql(`SELECT secret FROM ${M.table} WHERE id = 2;`).trim(), `${M.myRow}-2`);
    const one = json<{ verified: boolean; tables: Array<{ name: string }> }>(
      cli(['db', 'restore', m.id, '--db', 'main', '--table', `public.${M.table}`, '--target-url', onePg.url, '--json']),
    );
    assert.deepEqual([one.verified, one.tables.map((t) => t.name)], [true, [`public.${M.table}`]]);
    assert.equal(onePg.sql(`SELECT count(*) FROM ${M.table};`).trim(), '500');
    assert.equal(onePg.sql(`SELECT count(*) FROM pg_tables WHERE tablename = 'other';`).trim(), '0', 'only the one table');

    const markers = [...Object.values(M), sb.home, sb.root, pg.name, my.name, 'mkdbpg', 'mkdbmy', hostname(), userInfo().username].filter((s) => s.length >= 4);
    const files = filesUnder(sb.repo);
    assert.ok(files.some((f) => f.includes('/data/')));
    for (const f of files) {
      const bytes = readFileSync(f);
      for (const candidate of [bytes, ...zstdDecompressMaybe(bytes)]) for (const mk of markers) assert.equal(candidate.includes(mk), false, `${f} holds ${mk}`);
    }
  });
});
