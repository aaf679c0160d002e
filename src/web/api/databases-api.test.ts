import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBackup } from '../../app/backups/create-backup.js';
import type { AppContext, Manifest } from '../../app/index.js';
import { pgScratchDb, type ScratchDb } from '../../testing/databases.js';
import { appContext, json, prism, sandbox, type Sandbox } from '../../testing/fixtures.js';
import { body, call, refusal } from './api-testing.js';

const SETUP = `
CREATE TABLE kinds (id serial PRIMARY KEY, name text NOT NULL, note text);
INSERT INTO kinds (name, note) SELECT 'kind-' || i, CASE WHEN i % 7 = 0 THEN NULL ELSE E'tab\\there ' || i END FROM generate_series(1, 1500) i;
CREATE TABLE orders (id int PRIMARY KEY, kind int REFERENCES kinds(id), amount numeric(10,2));
INSERT INTO orders SELECT i, 1 + i % 1500, i * 1.25 FROM generate_series(1, 300) i;
`;

describe('dashboard API: databases (PostgreSQL)', () => {
  let sb: Sandbox;
  let ctx: AppContext;
  let live: ScratchDb;
  const scratch: ScratchDb[] = [];
  let m: Manifest;

  before(async () => {
    sb = sandbox();
    writeFileSync(join(sb.home, 'level-1-hot', 'a.json'), '{"a":1}');
    live = pgScratchDb();
    live.sql(SETUP);
    mkdirSync(join(sb.home, 'config'), { recursive: true });
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'main', type: 'postgres', url: live.url }] } }));
    ctx = appContext(sb);
    m = await createBackup(ctx, { type: 'full' });
  });
  after(() => {
    for (const d of [live, ...scratch]) d?.drop();
    sb.cleanup();
  });

  it('tables with rows and sizes: one backup as `db list --json`, and every backup holding databases', async () => {
    const one = await body(call(ctx, 'GET /api/databases', { query: { backup: m.id } }));
    assert.deepEqual(one, json<typeof one>(prism(['db', 'list', m.id, '--json'], sb.env)));
    assert.deepEqual(
      one.databases[0].tables.map((t: { name: string; rows: number }) => [t.name, t.rows]),
      [
        ['public.kinds', 1500],
        ['public.orders', 300],
      ],
    );
    const all = await body(call(ctx, 'GET /api/databases'));
    assert.deepEqual([all.total, all.items], [1, [one]]);
    assert.equal((await refusal(call(ctx, 'GET /api/databases', { query: { backup: 'backup_20300101_000000_full' } }))).status, 404);
  });

  it('single-table restore into another database: dry run first (as the CLI), then the table, identical', async () => {
    const into = pgScratchDb();
    scratch.push(into);
    const req = { backup: m.id, database: 'main', table: 'public.kinds', into: into.url };
    const dry = await body(call(ctx, 'POST /api/databases/restore', { body: { ...req, dry_run: true } }));
    const cli = json<Record<string, unknown>>(
      prism(['db', 'restore', m.id, '--db', 'main', '--table', 'public.kinds', '--target-url', into.url, '--dry-run', '--json'], sb.env),
    );
    assert.deepEqual({ ...dry, duration_ms: 0 }, { ...cli, duration_ms: 0 });
    assert.equal(dry.dry_run, true);
    assert.deepEqual(
      dry.plan.map((p: { name: string; action: string; backup_rows: number }) => [p.name, p.action, p.backup_rows]),
      [['public.kinds', 'create', 1500]],
    );
    assert.equal(into.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").trim(), '0', 'a dry run changes nothing');

    const r = await body(call(ctx, 'POST /api/databases/restore', { body: { ...req, dry_run: false } }));
    assert.equal(r.verified, true);
    assert.deepEqual(
      r.tables.map((t: { name: string; rows_restored: number; ok: boolean }) => [t.name, t.rows_restored, t.ok]),
      [['public.kinds', 1500, true]],
    );
    const dump = (db: ScratchDb) => db.sql("SELECT id, name, coalesce(note, '<null>') FROM kinds ORDER BY id");
    assert.equal(dump(into), dump(live));
    assert.equal(into.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").trim(), '1', 'only the table asked for');
  });

  it('into the live database itself is 409, saying to use the CLI; bad bodies are 400', async () => {
    for (const url of [live.url, live.url.replace('127.0.0.1', 'localhost'), live.url.replace('127.0.0.1:5432', '127.0.0.1')]) {
      const e = await refusal(
        call(ctx, 'POST /api/databases/restore', { body: { backup: m.id, database: 'main', table: 'public.kinds', into: url, dry_run: false } }),
      );
      assert.equal(e.status, 409, url);
      assert.match(e.message, /`prism db restore`/);
    }
    const cases: Array<[unknown, RegExp]> = [
      [{ backup: m.id, database: 'main', table: 'kinds', dry_run: true }, /^into:/],
      [{ backup: m.id, database: 'main', into: 'http://example.invalid/x', dry_run: true }, /^into: a postgres:\/\/ or mysql:\/\/ URL/],
      [{ backup: m.id, database: 'main', into: live.url }, /^dry_run:/],
      [{ backup: m.id, database: '', into: live.url, dry_run: true }, /^database:/],
    ];
    for (const [b, message] of cases) {
      const e = await refusal(call(ctx, 'POST /api/databases/restore', { body: b }));
      assert.equal(e.status, 400, JSON.stringify(b));
      assert.match(e.message, message);
    }
    assert.equal(live.sql('SELECT count(*) FROM kinds').trim(), '1500');
  });
});
