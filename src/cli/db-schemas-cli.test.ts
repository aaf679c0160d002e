import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../repo/index.js';
import { pgScratchDb, type ScratchDb } from '../testing/databases.js';
import { json, prism, sandbox, type Sandbox } from '../testing/fixtures.js';

/**
 * A table outside `public`, whose columns use types of its schema (an enum, a domain over it, a
 * composite, arrays of them) and whose defaults draw on a sequence of the schema it does not own.
 */
const SETUP = `
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('ok', 'sad');
CREATE DOMAIN app.calm AS app.mood CHECK (VALUE <> 'sad');
CREATE TYPE app.pair AS (m app.mood, n int);
CREATE TYPE app.unused AS ENUM ('x');
CREATE SEQUENCE app.ticket_seq;
CREATE TABLE app.items (id serial PRIMARY KEY, mood app.mood, calm app.calm, pair app.pair, moods app.mood[],
  ticket bigint NOT NULL DEFAULT nextval('app.ticket_seq') UNIQUE);
INSERT INTO app.items (mood, calm, pair, moods) SELECT 'sad', 'ok', ROW('ok', g)::app.pair, '{ok,sad}' FROM generate_series(1, 40) g;
CREATE TABLE app.other (x int);
`;
/** The schema's own types: enums, domains, composites (not the row types of its tables and sequences). */
const TYPES = `SELECT string_agg(typname, ',' ORDER BY typname) FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  LEFT JOIN pg_class c ON c.oid = t.typrelid WHERE nspname = 'app' AND typtype IN ('e', 'd', 'c') AND coalesce(c.relkind, 'c') = 'c';`;
const SUM = `SELECT count(*) || ':' || md5(string_agg(x::text, '|' ORDER BY x.id)) FROM app.items x;`;

describe('single tables of a schema other than public restored into another database', () => {
  let sb: Sandbox;
  let src: ScratchDb;
  const scratch: ScratchDb[] = [];
  let backup: Manifest;
  before(() => {
    sb = sandbox();
    src = pgScratchDb();
    src.sql(SETUP);
    mkdirSync(join(sb.home, 'config'), { recursive: true });
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'main', type: 'postgres', url: src.url }] } }));
    backup = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
  });
  after(() => {
    for (const d of [src, ...scratch]) d?.drop();
    sb.cleanup();
  });

  it('creates the schema, the types the table uses and the sequence its default draws on, then the table', () => {
    const into = pgScratchDb();
    scratch.push(into);
    const dry = prism(['db', 'restore', backup.id, '--db', 'main', '--table', 'app.items', '--target-url', into.url, '--dry-run'], sb.env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /create +app\.items: 40 rows/);
    const r = prism(['db', 'restore', backup.id, '--db', 'main', '--table', 'app.items', '--target-url', into.url, '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(json<{ verified: boolean }>(r).verified, true);
    assert.equal(into.sql(SUM), src.sql(SUM));
    assert.equal(into.sql(TYPES).trim(), 'calm,mood,pair', 'the types the table uses, not the others');
    assert.equal(into.sql(`SELECT count(*) FROM pg_tables WHERE tablename = 'other';`).trim(), '0');
    // both sequences at their values: the next rows get new keys and tickets
    into.sql(`INSERT INTO app.items (mood) VALUES ('ok');`);
    assert.equal(into.sql(`SELECT id || ',' || ticket FROM app.items WHERE mood = 'ok';`).trim(), '41,41');
    // the domain's check came along
    assert.throws(() => into.sql(`INSERT INTO app.items (calm) VALUES ('sad');`), /violates check constraint/);
  });

  it('into a database that has the schema and its types already: they are used as they are', () => {
    const into = pgScratchDb();
    scratch.push(into);
    into.sql(`CREATE SCHEMA app; CREATE TYPE app.mood AS ENUM ('ok', 'sad');`);
    const r = prism(['db', 'restore', backup.id, '--db', 'main', '--table', 'items', '--target-url', into.url], sb.env);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(into.sql(SUM), src.sql(SUM));
  });
});
