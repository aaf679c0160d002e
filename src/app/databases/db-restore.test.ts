import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { mysqlScratchDb, pgScratchDb, type ScratchDb } from '../../testing/databases.js';
import { FixedClock } from '../../core/clock.js';
import { appContext, sandbox, type Sandbox } from '../../testing/fixtures.js';
import { createBackup } from '../backups/create-backup.js';
import { restoreDatabase } from './db-restore.js';

/** 60 bytes: its safety copy's name is cut to the engines' identifier length. */
const LONG = 'a_table_with_a_name_long_enough_to_be_cut_in_its_safety_copy';

describe('safety copies of restores made within one second', () => {
  let sb: Sandbox;
  let pgDb: ScratchDb;
  let myDb: ScratchDb;
  let id = '';
  before(async () => {
    sb = sandbox();
    pgDb = pgScratchDb();
    pgDb.sql(`CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1), (2); CREATE TABLE ${LONG} (x int); INSERT INTO ${LONG} VALUES (7);`);
    myDb = mysqlScratchDb();
    myDb.sql(`CREATE TABLE items (id int PRIMARY KEY); INSERT INTO items VALUES (1), (2); CREATE TABLE ${LONG} (x int); INSERT INTO ${LONG} VALUES (7);`);
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: {
          databases: [
            { name: 'main', type: 'postgres', url: pgDb.url },
            { name: 'shop', type: 'mysql', url: myDb.url },
          ],
        },
      }),
    );
    id = (await createBackup(appContext(sb), { type: 'full' })).id;
  });
  after(() => {
    pgDb?.drop();
    myDb?.drop();
    sb.cleanup();
  });

  for (const [i, db] of ['main', 'shop'].entries()) {
    it(`${db}: a second restore in the same second keeps a copy of its own, named as prism's safety copies are`, async () => {
      // the clock stands still: both restores have the same time stamp
      const ctx = appContext(sb);
      const restore = () => restoreDatabase(ctx, { id, db, dryRun: false, confirm: true });
      const first = await restore();
      const second = await restore();
      const third = await restore();
      const copies = [first, second, third].flatMap((r) => r.tables.map((t) => t.safety_copy!));
      assert.equal(new Set(copies).size, 6, copies.join(', '));
      const bare = copies.map((c) => c.slice(c.indexOf('.') + 1));
      for (const c of bare) {
        assert.match(c, /^_prism_safety_20260207_020015_/);
        assert.ok(Buffer.byteLength(c) <= (db === 'main' ? 63 : 64), c);
      }
      assert.deepEqual(
        bare.filter((c) => c.includes('_items')),
        ['_prism_safety_20260207_020015_items', '_prism_safety_20260207_020015_2_items', '_prism_safety_20260207_020015_3_items'],
      );
      // a backup (a minute later: a backup id of its own) leaves them out, as it does every safety copy
      const m = await createBackup(appContext(sb, {}, new FixedClock(new Date(Date.UTC(2026, 1, 7, 2, 1 + i)))), { type: 'full' });
      assert.deepEqual(
        m.databases!.find((d) => d.name === db)!.tables.map((t) => t.name.slice(t.name.indexOf('.') + 1)),
        [LONG, 'items'],
      );
    });
  }
});
