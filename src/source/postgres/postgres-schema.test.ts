import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parsePgSchema, pgTableDdl, pgTableNeeds } from './postgres-schema.js';

const entry = (name: string, type: string, sql: string, schema = 'public') =>
  `--\n-- Name: ${name}; Type: ${type}; Schema: ${schema}; Owner: postgres\n--\n\n${sql}\n\n`;

describe('pg_dump schema entries', () => {
  const pre = parsePgSchema(
    '--\n-- PostgreSQL database dump\n--\n\\restrict abc\nSET x = 1;\n' +
      entry('t1', 'TABLE', 'CREATE TABLE public.t1 (id integer NOT NULL);') +
      entry('t1_id_seq', 'SEQUENCE', 'CREATE SEQUENCE public.t1_id_seq;') +
      entry('t1_id_seq', 'SEQUENCE OWNED BY', 'ALTER SEQUENCE public.t1_id_seq OWNED BY public.t1.id;') +
      entry('t10', 'TABLE', 'CREATE TABLE public.t10 (id integer);') +
      entry('T2', 'TABLE', 'CREATE TABLE public."T2" (k text);') +
      entry('t1 id', 'DEFAULT', "ALTER TABLE ONLY public.t1 ALTER COLUMN id SET DEFAULT nextval('public.t1_id_seq'::regclass);") +
      '--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n',
  );
  const post = parsePgSchema(
    'SET y = 2;\n' +
      entry('t1 t1_pkey', 'CONSTRAINT', 'ALTER TABLE ONLY public.t1 ADD CONSTRAINT t1_pkey PRIMARY KEY (id);') +
      entry('t1_idx', 'INDEX', 'CREATE INDEX t1_idx ON public.t1 USING btree (id);') +
      entry('t10_idx', 'INDEX', 'CREATE INDEX t10_idx ON public.t10 USING btree (id);') +
      entry('T2_idx', 'INDEX', 'CREATE INDEX "T2_idx" ON public."T2" USING btree (k);'),
  );

  it('splits the preamble and the entries, without the \\restrict lines', () => {
    assert.match(pre.preamble, /SET x = 1;/);
    assert.ok(!pre.preamble.includes('restrict'));
    assert.deepEqual(
      pre.entries.map((e) => e.type),
      ['TABLE', 'SEQUENCE', 'SEQUENCE OWNED BY', 'TABLE', 'TABLE', 'DEFAULT'],
    );
    assert.ok(!pre.entries.at(-1)!.sql.includes('restrict'));
  });

  it("picks exactly one table's statements, in dump order", () => {
    const d = pgTableDdl(pre, post, 'public.t1', ['public.t1_id_seq']);
    assert.deepEqual(d.pre.match(/^(CREATE|ALTER) \S+/gm), ['CREATE TABLE', 'CREATE SEQUENCE', 'ALTER SEQUENCE', 'ALTER TABLE']);
    assert.ok(!d.pre.includes('t10') && !d.post.includes('t10'));
    assert.match(d.post, /t1_pkey[\s\S]*t1_idx/);
    const q = pgTableDdl(pre, post, 'public.T2', []);
    assert.match(q.pre, /CREATE TABLE public."T2"/);
    assert.match(q.post, /"T2_idx"/);
  });

  it('names what a table needs from the schema: its schema, the types its columns use (and theirs), a sequence it draws on but does not own', () => {
    const app = parsePgSchema(
      entry('app', 'SCHEMA', 'CREATE SCHEMA app;', '-') +
        entry('shared', 'SCHEMA', 'CREATE SCHEMA shared;', '-') +
        entry('mood', 'TYPE', "CREATE TYPE shared.mood AS ENUM ('ok');", 'shared') +
        entry('moody', 'TYPE', "CREATE TYPE app.moody AS ENUM ('no');", 'app') +
        entry('Odd', 'TYPE', 'CREATE TYPE app."Odd" AS ENUM (\'x\');', 'app') +
        entry('calm', 'DOMAIN', 'CREATE DOMAIN app.calm AS shared.mood;', 'app') +
        entry('pair', 'TYPE', 'CREATE TYPE app.pair AS (m app.calm, n integer);', 'app') +
        entry('ticket_seq', 'SEQUENCE', 'CREATE SEQUENCE app.ticket_seq;', 'app') +
        entry('other_seq', 'SEQUENCE', 'CREATE SEQUENCE app.other_seq;', 'app') +
        entry(
          'items',
          'TABLE',
          'CREATE TABLE app.items (id integer NOT NULL, p app.pair, o app."Odd"[], t bigint DEFAULT nextval(\'app.ticket_seq\'::regclass));',
          'app',
        ) +
        entry('items_id_seq', 'SEQUENCE', 'CREATE SEQUENCE app.items_id_seq;', 'app') +
        entry('items id', 'DEFAULT', "ALTER TABLE ONLY app.items ALTER COLUMN id SET DEFAULT nextval('app.items_id_seq'::regclass);", 'app'),
    );
    assert.deepEqual(
      pgTableNeeds(app, 'app.items', ['app.items_id_seq']).map((n) => [n.kind, n.name]),
      [
        ['schema', 'app'],
        ['schema', 'shared'],
        ['type', 'shared.mood'],
        ['type', 'app.Odd'],
        ['type', 'app.calm'],
        ['type', 'app.pair'],
        ['sequence', 'app.ticket_seq'],
      ],
    );
    // a table of public that needs nothing: public itself, which has no entry of its own
    assert.deepEqual(pgTableNeeds(pre, 'public.t1', ['public.t1_id_seq']), [{ kind: 'schema', name: 'public', sql: 'CREATE SCHEMA public;\n' }]);
  });
});
