import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pgScratchDb, type ScratchDb } from '../../testing/databases.js';
import { appContext, sandbox, type Sandbox } from '../../testing/fixtures.js';
import { createBackup } from '../backups/create-backup.js';
import { restoreDatabase } from './db-restore.js';

describe('a PostgreSQL table of a million rows', () => {
  let sb: Sandbox;
  let src: ScratchDb;
  let dst: ScratchDb;
  before(() => {
    sb = sandbox();
    src = pgScratchDb();
    dst = pgScratchDb();
    // pgbench_accounts-like: 1,000,000 rows of ~100 bytes
    src.sql(`CREATE TABLE accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84));
             INSERT INTO accounts SELECT g, 1 + g / 100000, (g::bigint * 7919) % 100000 - 50000, '' FROM generate_series(1, 1000000) g;
             CREATE TABLE branches (bid int PRIMARY KEY, name text); INSERT INTO branches SELECT g, 'branch ' || g FROM generate_series(1, 11) g;`);
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'bank', type: 'postgres', url: src.url }] } }));
  });
  after(() => {
    src.drop();
    dst.drop();
    sb.cleanup();
  });

  it('is backed up streamed with its row count and restored whole into another database, identical', async () => {
    const ctx = appContext(sb);
    const m = await createBackup(ctx, { type: 'full' });
    assert.equal(m.status, 'completed');
    const accounts = m.databases![0]!.tables.find((t) => t.name === 'public.accounts')!;
    assert.equal(accounts.rows, 1_000_000);
    assert.ok(accounts.bytes > 20_000_000);
    const r = await restoreDatabase(ctx, { id: m.id, db: 'bank', targetUrl: dst.url, dryRun: false, confirm: false });
    assert.equal(r.verified, true);
    assert.deepEqual(
      r.tables.map((t) => [t.name, t.rows_restored]),
      [
        ['public.accounts', 1_000_000],
        ['public.branches', 11],
      ],
    );
    const sum = `SELECT count(*) || ':' || sum(abalance::bigint) || ':' || md5(string_agg(aid || '/' || bid || '/' || abalance, ',' ORDER BY aid)) FROM accounts;`;
    assert.equal(dst.sql(sum), src.sql(sum));
  });
});
