/** --clean on PostgreSQL: what the target has that the backup lacks, set aside or dropped; and refreshing materialized views. */
import type pg from 'pg';
import { SAFETY_PREFIX } from '../db/db-dump.js';
import { freeSafetyName, type CleanItem, type CleanOutcome, type CleanSpec } from '../db/db-restore.js';
import { pgIdent, pgQualified } from './postgres-dump.js';
import type { PgSchema } from './postgres-schema.js';

const RELATIONS: Record<string, CleanItem['kind']> = { r: 'table', p: 'table', v: 'view', m: 'materialized view', S: 'sequence', f: 'foreign table' };
const ROUTINES: Record<string, CleanItem['kind']> = { f: 'function', w: 'function', p: 'procedure', a: 'aggregate' };
const TOC: Record<string, 'rel' | 'type' | 'routine'> = {
  TABLE: 'rel',
  VIEW: 'rel',
  'MATERIALIZED VIEW': 'rel',
  SEQUENCE: 'rel',
  'FOREIGN TABLE': 'rel',
  TYPE: 'type',
  DOMAIN: 'type',
  FUNCTION: 'routine',
  PROCEDURE: 'routine',
  AGGREGATE: 'routine',
};
const ALTER: Record<CleanItem['kind'], string> = {
  table: 'TABLE',
  view: 'VIEW',
  'materialized view': 'MATERIALIZED VIEW',
  sequence: 'SEQUENCE',
  'foreign table': 'FOREIGN TABLE',
  type: 'TYPE',
  domain: 'DOMAIN',
  function: 'FUNCTION',
  procedure: 'PROCEDURE',
  aggregate: 'AGGREGATE',
};

/** A PostgreSQL object --clean removes: its oid, schema and bare name as well. */
export interface PgCleanItem extends CleanItem {
  oid: string;
  schema: string;
  cat: 'rel' | 'type' | 'routine';
}

/**
 * The schemas the backup holds (those of its tables and of every object of its schema dump) and
 * what it has there, by the names pg_dump gives them (a routine: `name(type, type)`, the types
 * as format_type writes them with an empty search_path).
 */
function backupObjects(pre: PgSchema, tables: readonly string[]): { schemas: string[]; has: Set<string> } {
  const schemas = new Set(tables.map((t) => t.slice(0, t.indexOf('.'))));
  const has = new Set(tables.map((t) => `rel:${t}`));
  for (const e of pre.entries) {
    if (e.type === 'SCHEMA') schemas.add(e.name);
    if (e.schema !== '-') schemas.add(e.schema);
    const cat = TOC[e.type];
    if (cat) has.add(`${cat}:${e.schema}.${e.name}`);
  }
  return { schemas: [...schemas], has };
}

/**
 * The relations, types and routines of the backup's schemas in the target that the backup lacks,
 * oldest first. Left out: prism's safety copies, extension members, sequences owned by a column
 * (they go with their table), tables `spec.keep` holds back. `kept` names those tables.
 */
export async function pgCleanPlan(
  client: pg.Client,
  pre: PgSchema,
  tables: readonly string[],
  spec: CleanSpec,
): Promise<{ drop: PgCleanItem[]; kept: string[] }> {
  const { schemas, has } = backupObjects(pre, tables);
  await client.query(`SELECT pg_catalog.set_config('search_path', '', false)`); // names as pg_dump writes them (the connection is prism's own)
  const r = await client.query<{ oid: string; cat: 'rel' | 'type' | 'routine'; sub: string; schema: string; name: string }>(
    `SELECT * FROM (
       SELECT c.oid::int8 AS oid, 'rel' AS cat, c.relkind::text AS sub, n.nspname AS schema, c.relname::text AS name
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.objid = c.oid
                            AND (d.deptype = 'e' OR (c.relkind = 'S' AND d.deptype IN ('a', 'i'))))
       UNION ALL
       SELECT t.oid::int8, 'type', t.typtype::text, n.nspname, t.typname::text
         FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = ANY($1::text[])
          AND (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND (SELECT relkind FROM pg_catalog.pg_class WHERE oid = t.typrelid) = 'c'))
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_type'::regclass AND d.objid = t.oid AND d.deptype = 'e')
       UNION ALL
       SELECT p.oid::int8, 'routine', p.prokind::text, n.nspname,
              p.proname || '(' || CASE WHEN p.prokind = 'a' AND p.pronargs = 0 THEN '*'
                ELSE coalesce((SELECT string_agg(pg_catalog.format_type(a.t, NULL), ', ' ORDER BY a.i) FROM unnest(p.proargtypes) WITH ORDINALITY a(t, i)), '') END || ')'
         FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
     ) x ORDER BY oid`,
    [schemas],
  );
  const drop: PgCleanItem[] = [];
  const kept: string[] = [];
  for (const x of r.rows) {
    if (x.name.startsWith(SAFETY_PREFIX) || has.has(`${x.cat}:${x.schema}.${x.name}`)) continue;
    const kind = x.cat === 'rel' ? RELATIONS[x.sub]! : x.cat === 'type' ? (x.sub === 'd' ? 'domain' : 'type') : ROUTINES[x.sub]!;
    const name = `${x.schema}.${x.name}`;
    if (kind === 'table' && spec.keep(name)) {
      kept.push(name);
      continue;
    }
    drop.push({ kind, name, oid: String(x.oid), schema: x.schema, cat: x.cat });
  }
  return { drop, kept };
}

/** The name to ALTER or DROP an object by, as it is now (qualified: the search_path is empty). */
async function identOf(client: pg.Client, it: PgCleanItem): Promise<string> {
  const cast = it.cat === 'rel' ? 'regclass' : it.cat === 'type' ? 'regtype' : 'regprocedure';
  const s = (await client.query<{ s: string }>(`SELECT $1::oid::pg_catalog.${cast}::text AS s`, [it.oid])).rows[0]!.s;
  return it.kind === 'aggregate' ? s.replace(/\(\)$/, '(*)') : s;
}

/**
 * Removes `items` inside the restore's transaction. With safety copies each is moved (ALTER …
 * SET SCHEMA, nothing copied, everything kept: columns, indexes, rows, definitions) into a schema
 * `_prism_safety_<stamp>_<schema>` per schema it came from; a partition of a table kept is
 * detached first, and the foreign keys between what moves and what stays are dropped (a table
 * kept must not refer to a safety copy, nor a safety copy block or cascade into a table kept).
 * The outcome holds the statements that put it all back. Without safety copies each is dropped
 * (RESTRICT: something kept that depends on it fails the restore, which then rolls back).
 */
export async function pgClean(client: pg.Client, items: readonly PgCleanItem[], safety: boolean, stamp: string): Promise<CleanOutcome> {
  const out: CleanOutcome = { removed: [], foreign_keys_dropped: [], undo: [], drop_safety: [] };
  if (items.length === 0) return out;
  await client.query(`SELECT pg_catalog.set_config('search_path', '', false)`);
  const rels = items.filter((i) => i.cat === 'rel');
  const relOids = rels.map((i) => i.oid);
  // partitions of tables kept: detached (else the parent's rows would go on reaching them)
  const parts = await client.query<{ child: string; parent: string; bound: string }>(
    `SELECT c.oid::regclass::text AS child, i.inhparent::regclass::text AS parent, pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_catalog.pg_class c JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid
      WHERE c.relispartition AND c.oid = ANY($1::oid[]) AND NOT i.inhparent = ANY($1::oid[])`,
    [relOids],
  );
  const attach: string[] = [];
  for (const p of parts.rows) {
    await client.query(`ALTER TABLE ${p.parent} DETACH PARTITION ${p.child}`);
    attach.push(`ALTER TABLE ${p.parent} ATTACH PARTITION ${p.child} ${p.bound};`);
  }
  const fks = await client.query<{ tbl: string; name: string; def: string }>(
    `SELECT conrelid::regclass::text AS tbl, conname AS name, pg_catalog.pg_get_constraintdef(oid) AS def FROM pg_catalog.pg_constraint
      WHERE contype = 'f' AND conparentid = 0 AND (conrelid = ANY($1::oid[])) <> (confrelid = ANY($1::oid[]))`,
    [relOids],
  );
  const addFks: string[] = [];
  for (const f of fks.rows) {
    await client.query(`ALTER TABLE ${f.tbl} DROP CONSTRAINT ${pgIdent(f.name)}`);
    out.foreign_keys_dropped.push(`${f.tbl}.${f.name}`);
    addFks.push(`ALTER TABLE ${f.tbl} ADD CONSTRAINT ${pgIdent(f.name)} ${f.def};`);
  }
  if (!safety) {
    await dropAll(client, items);
    out.removed = items.map((i) => ({ kind: i.kind, name: i.name, safety: null }));
    return out;
  }
  const safetySchemas = new Map<string, string>();
  for (const schema of [...new Set(items.map((i) => i.schema))]) {
    const name = await freeSafetyName(
      stamp,
      schema,
      63,
      async (n) => (await client.query('SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1', [n])).rowCount !== 0,
    );
    await client.query(`CREATE SCHEMA ${pgIdent(name)}`);
    safetySchemas.set(schema, name);
    out.drop_safety.push(`DROP SCHEMA ${pgIdent(name)} CASCADE;`);
  }
  for (const it of items) {
    await client.query(`ALTER ${ALTER[it.kind]} ${await identOf(client, it)} SET SCHEMA ${pgIdent(safetySchemas.get(it.schema)!)}`);
    out.removed.push({ kind: it.kind, name: it.name, safety: safetySchemas.get(it.schema)! });
  }
  // put back: routines first (their signatures name types that may have moved too), relations, types
  const order = [...items.filter((i) => i.cat === 'routine'), ...rels, ...items.filter((i) => i.cat === 'type')];
  for (const it of order) out.undo.push(`ALTER ${ALTER[it.kind]} ${await identOf(client, it)} SET SCHEMA ${pgIdent(it.schema)};`);
  out.undo.push(...addFks, ...attach, ...[...safetySchemas.values()].map((s) => `DROP SCHEMA ${pgIdent(s)};`));
  return out;
}

/** Drops every item, each in a savepoint, over rounds until none is left (what depends on another goes first); fails when a round drops nothing. */
async function dropAll(client: pg.Client, items: readonly PgCleanItem[]): Promise<void> {
  let left = [...items].reverse();
  while (left.length > 0) {
    const failed: PgCleanItem[] = [];
    let last: unknown;
    for (const it of left) {
      const ident = await identOf(client, it);
      await client.query('SAVEPOINT prism_drop');
      try {
        await client.query(`DROP ${ALTER[it.kind]} ${ident}`);
        await client.query('RELEASE SAVEPOINT prism_drop');
      } catch (e) {
        await client.query('ROLLBACK TO SAVEPOINT prism_drop');
        failed.push(it);
        last = e;
      }
    }
    if (failed.length === left.length) throw last;
    left = failed;
  }
}

/**
 * Refreshes the populated materialized views that read (through views and other materialized
 * views too) from `tables` or from the partitioned tables above them (pg_partition_ancestors
 * gives a partition and those, nothing for a table that is not one): their rows were computed
 * from what the tables held before. In the order of `order` (pg_dump's MATERIALIZED VIEW DATA
 * entries, which respect their dependencies), the others after it, oldest first.
 */
export async function pgRefreshMatviews(client: pg.Client, tables: readonly string[], order: readonly string[] = []): Promise<string[]> {
  if (tables.length === 0) return [];
  const r = await client.query<{ name: string; ident: string }>(
    `WITH RECURSIVE dep(oid) AS (
       SELECT pg_catalog.to_regclass(t)::oid FROM unnest($1::text[]) t
       UNION
       SELECT a.relid::oid FROM unnest($1::text[]) t, pg_catalog.pg_partition_ancestors(pg_catalog.to_regclass(t)) a
       UNION
       SELECT r.ev_class FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_rewrite r ON r.oid = d.objid JOIN dep ON d.refobjid = dep.oid
        WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass AND r.ev_class <> dep.oid
     )
     SELECT n.nspname || '.' || c.relname AS name, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS ident
       FROM dep JOIN pg_catalog.pg_class c ON c.oid = dep.oid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'm' AND c.relispopulated ORDER BY c.oid`,
    [tables.map(pgQualified)],
  );
  const pos = (n: string): number => {
    const i = order.indexOf(n);
    return i === -1 ? order.length : i;
  };
  const views = [...r.rows].sort((a, b) => pos(a.name) - pos(b.name));
  for (const v of views) await client.query(`REFRESH MATERIALIZED VIEW ${v.ident}`);
  return views.map((v) => v.name);
}

/** The materialized views of a post-data schema whose data pg_dump refreshes, in its order. */
export function pgMatviewOrder(post: PgSchema): string[] {
  return post.entries.filter((e) => e.type === 'MATERIALIZED VIEW DATA').map((e) => `${e.schema}.${e.name}`);
}
