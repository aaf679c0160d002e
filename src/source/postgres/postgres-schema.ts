/** Reading pg_dump's plain-text schema: its TOC entries, and the statements that make one table. */
import type { ForeignKeyRef } from '../db/db-restore.js';

export interface PgSchemaEntry {
  name: string;
  type: string;
  schema: string;
  sql: string;
}

export interface PgSchema {
  /** SET statements before the first entry. */
  preamble: string;
  entries: PgSchemaEntry[];
}

const HEADER = /^--\n-- Name: (.*?); Type: (.*?); Schema: (.*?); Owner: .*\n--\n/gm;

export function parsePgSchema(text: string): PgSchema {
  const clean = text.replace(/^\\(un)?restrict .*\n/gm, '');
  const heads = [...clean.matchAll(HEADER)];
  const entries = heads.map((h, i) => ({
    name: h[1]!,
    type: h[2]!,
    schema: h[3]!,
    sql: clean
      .slice(h.index! + h[0].length, i + 1 < heads.length ? heads[i + 1]!.index : clean.length)
      .replace(/^--\n-- PostgreSQL database dump complete\n--\n/m, ''),
  }));
  return { preamble: heads.length > 0 ? clean.slice(0, heads[0]!.index) : clean, entries };
}

/** How pg_dump writes an identifier: bare when it is a plain lower-case name, else double-quoted. */
function dumpIdent(s: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(s) ? s : `"${s.replace(/"/g, '""')}"`;
}

const TABLE_PRE = new Set(['TABLE', 'DEFAULT', 'COMMENT']);
const TABLE_POST = new Set(['CONSTRAINT', 'FK CONSTRAINT', 'TRIGGER', 'RULE', 'POLICY', 'ROW SECURITY']);

/**
 * The statements that create table `schema.table` (pre: the table, its owned sequences and
 * defaults; post: its constraints, indexes, triggers), in pg_dump's dependency order, for restoring a table the target lacks.
 */
export function pgTableDdl(
  pre: PgSchema,
  post: PgSchema,
  table: string,
  ownedSequences: readonly string[],
): { pre: string; post: string; postEntries: PgSchemaEntry[] } {
  const dot = table.indexOf('.');
  const schema = table.slice(0, dot);
  const name = table.slice(dot + 1);
  const seqs = new Set(ownedSequences.map((s) => s.slice(s.indexOf('.') + 1)));
  const own = (e: PgSchemaEntry): boolean => e.schema === schema && (e.name === name || e.name.startsWith(`${name} `));
  const preSql = pre.entries
    .filter(
      (e) =>
        (TABLE_PRE.has(e.type) && own(e) && (e.type !== 'COMMENT' || e.name.startsWith(`TABLE ${name}`))) ||
        (e.schema === schema && (e.type === 'SEQUENCE' || e.type === 'SEQUENCE OWNED BY') && seqs.has(e.name)),
    )
    .map((e) => e.sql);
  const onTable = new RegExp(`\\bON (ONLY )?${escapeRe(`${dumpIdent(schema)}.${dumpIdent(name)}`)} `);
  const postEntries = post.entries.filter((e) => (TABLE_POST.has(e.type) && own(e)) || (e.type === 'INDEX' && e.schema === schema && onTable.test(e.sql)));
  return { pre: preSql.join('\n'), post: postEntries.map((e) => e.sql).join('\n'), postEntries };
}

/** Something a table created on its own needs from the backup's schema, which the target may lack. */
export interface PgTableNeed {
  kind: 'schema' | 'type' | 'sequence';
  /** The schema's name, or `schema.name` (unquoted, as the manifest names sequences). */
  name: string;
  /** Its statements from the dump (a schema without an entry there, e.g. public: a plain CREATE SCHEMA). */
  sql: string;
}

const TYPE_ENTRIES = new Set(['TYPE', 'DOMAIN']);

/**
 * What table `schema.table` needs besides its own statements (pgTableDdl): its schema, the types
 * and domains its columns use (and those they are built on, enums under a domain or a composite),
 * and the sequences its defaults draw on that it does not own; with the schemas of all these.
 * Schemas first, then the rest in the dump's (dependency) order. Functions a default, a check or
 * a domain calls are not followed.
 */
export function pgTableNeeds(pre: PgSchema, table: string, ownedSequences: readonly string[]): PgTableNeed[] {
  const dot = table.indexOf('.');
  const schema = table.slice(0, dot);
  const owned = new Set(ownedSequences);
  const seed = pgTableDdl(pre, { preamble: '', entries: [] }, table, ownedSequences).pre;
  const refersTo = (e: PgSchemaEntry): RegExp => {
    const q = escapeRe(`${dumpIdent(e.schema)}.${dumpIdent(e.name)}`);
    return TYPE_ENTRIES.has(e.type) ? new RegExp(`(?<![\\w$."])${q}(?![\\w$])`) : new RegExp(`'${q}'::regclass`);
  };
  const candidates = pre.entries
    .filter((e) => TYPE_ENTRIES.has(e.type) || (e.type === 'SEQUENCE' && !owned.has(`${e.schema}.${e.name}`) && /^\s*CREATE SEQUENCE /m.test(e.sql)))
    .map((e) => ({ e, re: refersTo(e) }));
  const chosen = new Set<PgSchemaEntry>();
  const texts = [seed];
  for (let grew = true; grew;) {
    grew = false;
    for (const c of candidates) {
      if (chosen.has(c.e) || !texts.some((t) => c.re.test(t))) continue;
      chosen.add(c.e);
      texts.push(c.e.sql);
      grew = true;
    }
  }
  const objects = pre.entries.filter((e) => chosen.has(e));
  const schemas = [...new Set([schema, ...objects.map((e) => e.schema)])];
  return [
    ...schemas.map((s): PgTableNeed => {
      const entry = pre.entries.find((e) => e.type === 'SCHEMA' && e.name === s);
      return { kind: 'schema', name: s, sql: entry?.sql ?? `CREATE SCHEMA ${dumpIdent(s)};\n` };
    }),
    ...objects.map((e): PgTableNeed => ({ kind: e.type === 'SEQUENCE' ? 'sequence' : 'type', name: `${e.schema}.${e.name}`, sql: e.sql })),
  ];
}

const IDENT = String.raw`(?:"(?:[^"]|"")*"|[^\s."(),;]+)`;
const FK = new RegExp(
  String.raw`ALTER TABLE (?:ONLY )?(${IDENT}\.${IDENT})\s+ADD CONSTRAINT (${IDENT}) FOREIGN KEY \(.*?\) REFERENCES (${IDENT}\.${IDENT})\(`,
  's',
);

/** `schema.name` of a qualified identifier as pg_dump writes it (quotes taken off). */
function unquoteQualified(q: string): string {
  const parts = q.match(new RegExp(IDENT, 'g'))!;
  return parts.map(unquote).join('.');
}

function unquote(s: string): string {
  return s.startsWith('"') ? s.slice(1, -1).replace(/""/g, '"') : s;
}

/** The foreign keys of the backup's post-data schema: each table and the table it references. */
export function pgForeignKeys(post: PgSchema): ForeignKeyRef[] {
  const out: ForeignKeyRef[] = [];
  for (const e of post.entries) {
    if (e.type !== 'FK CONSTRAINT') continue;
    const m = FK.exec(e.sql);
    if (m) out.push({ table: unquoteQualified(m[1]!), constraint: unquote(m[2]!), references: unquoteQualified(m[3]!) });
  }
  return out;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * What a name given as a table is when the backup holds no table of that name but its schema has
 * it: a view, a materialized view, or a partitioned table (whose rows are its partitions'); as
 * the end of a sentence for the error, or undefined.
 */
export function pgNotATable(pre: PgSchema, name: string): string | undefined {
  const e = pre.entries.find(
    (x) => (x.type === 'VIEW' || x.type === 'MATERIALIZED VIEW' || x.type === 'TABLE') && (`${x.schema}.${x.name}` === name || x.name === name),
  );
  if (!e) return undefined;
  if (e.type === 'VIEW') return 'is a view: the backup holds its definition, not rows; restore the tables it reads with --table.';
  if (e.type === 'MATERIALIZED VIEW')
    return 'is a materialized view: the backup holds its definition, not rows; restore the tables it reads (a whole-database restore refreshes it).';
  const parent = new RegExp(`^ALTER TABLE ONLY ${escapeRe(`${dumpIdent(e.schema)}.${dumpIdent(e.name)}`)} ATTACH PARTITION `, 'm');
  const parts = pre.entries.filter((x) => x.type === 'TABLE ATTACH' && parent.test(x.sql)).map((x) => `${x.schema}.${x.name}`);
  if (parts.length > 0) return `is a partitioned table: its rows are in its partitions ${parts.join(', ')}; give those with --table.`;
  return 'is not backed up (include_tables/exclude_tables leave it out).';
}
