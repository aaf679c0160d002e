import { createHash } from 'node:crypto';
import type pg from 'pg';
import { pipeline } from 'node:stream/promises';
import { pgCopyStreams } from '../db/db-drivers.js';
import { PrismError } from '../../errors/index.js';
import type { DbTarget } from '../db/db-credentials.js';
import { POST_SCHEMA_OBJECT, SCHEMA_OBJECT } from '../db/db-dump.js';
import { classifyDbError } from '../db/db-errors.js';
import {
  freeSafetyName,
  outcome,
  type CleanItem,
  type CleanOutcome,
  type CleanSpec,
  type RestoreInput,
  type RestoreResult,
  type SequenceValue,
  type TableOutcome,
  type TablePlan,
} from '../db/db-restore.js';
import { pgClean, pgCleanPlan, pgMatviewOrder, pgRefreshMatviews } from './postgres-clean.js';
import { pgColumns, pgConnect, pgCopyOut, pgIdent, pgListTables, pgQualified } from './postgres-dump.js';
import { parsePgSchema, pgTableDdl, pgTableNeeds, type PgSchema, type PgSchemaEntry, type PgTableNeed } from './postgres-schema.js';

/** Which tables exist in the target (replace) and which are missing (create), with current row counts. */
export async function planPostgres(t: DbTarget, tables: ReadonlyArray<{ name: string; rows: number }>): Promise<TablePlan[]> {
  const client = await pgConnect(t);
  try {
    const existing = new Set(await pgListTables(client));
    const out: TablePlan[] = [];
    for (const tb of tables) {
      const exists = existing.has(tb.name);
      const rows = exists ? Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${pgQualified(tb.name)}`)).rows[0]!.n) : null;
      out.push({ name: tb.name, action: exists ? 'replace' : 'create', current_rows: rows, backup_rows: tb.rows });
    }
    return out;
  } catch (e) {
    throw classifyDbError(t, e);
  } finally {
    await client.end().catch(() => {});
  }
}

/** What --clean would remove from the target (and the tables it keeps for include_tables/exclude_tables). */
export async function planPostgresClean(
  t: DbTarget,
  schema: Record<string, string>,
  tables: readonly string[],
  spec: CleanSpec,
): Promise<{ drop: CleanItem[]; kept: string[] }> {
  const client = await pgConnect(t);
  try {
    const r = await pgCleanPlan(client, parsePgSchema(schema[SCHEMA_OBJECT] ?? ''), tables, spec);
    return { drop: r.drop.map((d) => ({ kind: d.kind, name: d.name })), kept: r.kept };
  } catch (e) {
    throw classifyDbError(t, e);
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * Restores tables in ONE transaction (PostgreSQL DDL is transactional): a safety copy of each
 * existing table, then it is emptied and loaded with COPY FROM STDIN; a missing table is created
 * from the backup's schema (a target with none of the tables gets the whole schema). Inside the
 * transaction every table is read back and its row count and SHA-256 compared with the manifest;
 * any error or mismatch rolls everything back, so the target is as it was. The populated
 * materialized views that read from the restored tables are refreshed. With --clean, what the
 * target has and the backup lacks is set aside (pgClean) in the same transaction.
 */
export async function restorePostgres(t: DbTarget, input: RestoreInput): Promise<RestoreResult> {
  const client = await pgConnect(t);
  let step = 'starting the transaction';
  try {
    await client.query('BEGIN');
    await client.query('SAVEPOINT prism_role');
    try {
      await client.query('SET LOCAL session_replication_role = replica'); // no FK or user triggers while loading (superuser)
      await client.query('RELEASE SAVEPOINT prism_role');
    } catch {
      await client.query('ROLLBACK TO SAVEPOINT prism_role');
    }
    const existing = new Set(await pgListTables(client));
    const pre = parsePgSchema(input.schema[SCHEMA_OBJECT] ?? '');
    const post = withoutForeignKeys(parsePgSchema(input.schema[POST_SCHEMA_OBJECT] ?? ''), input.withoutForeignKeys === true);
    const fresh = input.wholeDatabase && input.tables.every((tb) => !existing.has(tb.name));
    if (fresh) {
      step = 'creating the schema';
      input.log('db.restore.schema', { part: 'pre-data' });
      await client.query(pre.preamble + pre.entries.map((e) => e.sql).join('\n'));
    }
    const outcomes: TableOutcome[] = [];
    /** The post-data entries of the tables created, run in pg_dump's order once all are loaded (a key before the foreign keys that need it). */
    const postEntries = new Set<PgSchemaEntry>();
    /** Sequences not owned by a table that were created for a table's default: set to their backed-up values too. */
    const createdSequences = new Set<string>();
    for (const tb of input.tables) {
      const qt = pgQualified(tb.name);
      const exists = existing.has(tb.name);
      let safety: string | null = null;
      if (exists) {
        if (input.safetyCopies) {
          step = `copying ${tb.name} to its safety copy`;
          const schema = tb.name.slice(0, tb.name.indexOf('.'));
          const bare = tb.name.slice(tb.name.indexOf('.') + 1);
          safety = `${schema}.${await freeSafetyName(input.stamp, bare, 63, async (n) => (await client.query('SELECT 1 WHERE pg_catalog.to_regclass($1) IS NOT NULL', [pgQualified(`${schema}.${n}`)])).rowCount !== 0)}`;
          await client.query(`CREATE TABLE ${pgQualified(safety)} AS TABLE ${qt}`);
        }
        step = `emptying ${tb.name}`;
        const refs = await client.query(`SELECT 1 FROM pg_constraint WHERE contype = 'f' AND confrelid = $1::regclass AND conrelid <> confrelid LIMIT 1`, [qt]);
        await client.query(refs.rowCount ? `DELETE FROM ${qt}` : `TRUNCATE ${qt}`);
      } else if (!fresh) {
        step = `creating ${tb.name}`;
        const owned = (input.sequences ?? []).filter((s) => s.table === tb.name).map((s) => s.name);
        const ddl = pgTableDdl(pre, post, tb.name, owned);
        if (!ddl.pre.includes('CREATE TABLE')) throw new PrismError('DB_RESTORE_FAILED', `The backup's schema has no CREATE TABLE for ${tb.name}.`);
        const needs = await missingNeeds(client, pgTableNeeds(pre, tb.name, owned));
        for (const n of needs) if (n.kind === 'sequence') createdSequences.add(n.name);
        await client.query([pre.preamble, ...needs.map((n) => n.sql), ddl.pre].join('\n'));
        for (const e of ddl.postEntries) postEntries.add(e);
      }
      step = `loading ${tb.name}`;
      input.log('db.restore.table', { table: tb.name, action: exists ? 'replace' : 'create', safety_copy: safety, rows: tb.rows });
      const cols = tb.columns && tb.columns.length > 0 ? ` (${tb.columns.map(pgIdent).join(', ')})` : '';
      const { from: copyFrom } = await pgCopyStreams();
      await pipeline(tb.open(), client.query(copyFrom(`COPY ${qt}${cols} FROM STDIN`)));
      outcomes.push({ ...outcome(tb, exists ? 'replace' : 'create', safety, 0, ''), ok: false });
    }
    step = 'creating indexes and constraints';
    if (fresh) await client.query(post.preamble + post.entries.map((e) => e.sql).join('\n'));
    else if (postEntries.size > 0)
      await client.query(
        post.preamble +
          post.entries
            .filter((e) => postEntries.has(e))
            .map((e) => e.sql)
            .join('\n'),
      );
    let clean: CleanOutcome | undefined;
    if (input.clean) {
      step = 'removing what the backup does not have (--clean)';
      const plan = await pgCleanPlan(
        client,
        pre,
        input.tables.map((tb) => tb.name),
        input.clean,
      );
      clean = await pgClean(client, plan.drop, input.safetyCopies, input.stamp);
      input.log('db.restore.clean', { removed: clean.removed, foreign_keys_dropped: clean.foreign_keys_dropped, kept: plan.kept });
    }
    step = 'setting sequences';
    const restored = new Set(input.tables.map((tb) => tb.name));
    const before = new Map<string, SequenceValue[]>();
    for (const s of input.sequences ?? []) {
      // a sequence of a partitioned table goes with its partitions when all of them are restored
      const owner = s.table === null ? null : restored.has(s.table) ? s.table : await restoredPartitionOf(client, s.table, restored);
      if (s.table !== null ? owner === null : !fresh && !createdSequences.has(s.name)) continue;
      if (owner !== null && existing.has(owner)) {
        const now = await client.query<{ v: string; c: boolean }>(`SELECT last_value::text AS v, is_called AS c FROM ${pgQualified(s.name)}`);
        before.set(owner, [...(before.get(owner) ?? []), { name: s.name, value: now.rows[0]!.v, is_called: now.rows[0]!.c }]);
      }
      await client.query(`SELECT pg_catalog.setval($1::regclass, $2::bigint, $3)`, [pgQualified(s.name), s.value, s.is_called]);
    }
    if (!fresh) {
      step = 'refreshing materialized views';
      const refreshed = await pgRefreshMatviews(
        client,
        input.tables.map((tb) => tb.name),
        pgMatviewOrder(post),
      );
      if (refreshed.length > 0) input.log('db.restore.refreshed', { materialized_views: refreshed });
    }
    step = 'checking row counts and checksums';
    for (const [i, tb] of input.tables.entries()) {
      const hash = createHash('sha256');
      const rows = await pgCopyOut(client, tb.name, tb.columns ?? (await pgColumns(client, tb.name)), async (b) => void hash.update(b));
      const o = outcomes[i]!;
      const seqs = before.get(tb.name);
      outcomes[i] = { ...outcome(tb, o.action, o.safety_copy, rows, hash.digest('hex')), ...(seqs ? { sequences_before: seqs } : {}) };
    }
    const bad = outcomes.filter((o) => !o.ok);
    if (bad.length > 0) {
      throw new PrismError(
        'DB_VERIFY_FAILED',
        `Restored data does not match the backup: ${bad.map((o) => `${o.name} (${o.rows_restored} rows, expected ${o.rows_expected}${o.sha256_restored !== o.sha256_expected ? ', checksum differs' : ''})`).join(', ')}; rolled back.`,
        {
          tables: outcomes,
        },
      );
    }
    step = 'committing';
    await client.query('COMMIT');
    return { tables: outcomes, ...(clean ? { clean } : {}) };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {});
    if (e instanceof PrismError && (e.code === 'DB_VERIFY_FAILED' || e.code === 'CHECKSUM_MISMATCH' || e.code === 'DB_RESTORE_FAILED')) throw e;
    const c = classifyDbError(t, e, { what: step });
    if (c.code === 'DB_UNREACHABLE' || c.code === 'DB_AUTH_FAILED') throw c;
    throw new PrismError(
      'DB_RESTORE_FAILED',
      `Restore into ${t.shown} failed while ${step}; rolled back, nothing changed: ${c.message.replace(/^Database .*? failed while [^:]*: /, '')}`,
      { url: t.shown, step },
    );
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A partitioned table whose every partition (leaf) is restored: the first of them, which its
 * sequences' values before the restore are recorded with; else null (a sequence of the parent
 * also numbers the rows of partitions not restored, so it keeps its value).
 */
async function restoredPartitionOf(client: pg.Client, table: string, restored: ReadonlySet<string>): Promise<string | null> {
  const r = await client.query<{ name: string }>(
    `SELECT n.nspname || '.' || c.relname AS name FROM pg_catalog.pg_partition_tree(pg_catalog.to_regclass($1)) t
       JOIN pg_catalog.pg_class c ON c.oid = t.relid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE t.isleaf ORDER BY 1`,
    [pgQualified(table)],
  );
  const leaves = r.rows.map((x) => x.name);
  return leaves.length > 0 && leaves.every((l) => restored.has(l)) ? leaves[0]! : null;
}

/** The post-data schema without its foreign keys (--without-foreign-keys), or as it is. */
function withoutForeignKeys(post: PgSchema, drop: boolean): PgSchema {
  return drop ? { ...post, entries: post.entries.filter((e) => e.type !== 'FK CONSTRAINT') } : post;
}

/** The needs of a table the target lacks (a schema, a type, a sequence of the backup), in their order. */
async function missingNeeds(client: pg.Client, needs: readonly PgTableNeed[]): Promise<PgTableNeed[]> {
  const out: PgTableNeed[] = [];
  for (const n of needs) {
    const r =
      n.kind === 'schema'
        ? await client.query('SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1', [n.name])
        : await client.query(`SELECT 1 WHERE pg_catalog.${n.kind === 'type' ? 'to_regtype' : 'to_regclass'}($1) IS NOT NULL`, [pgQualified(n.name)]);
    if (r.rowCount === 0) out.push(n);
  }
  return out;
}

/**
 * Puts a table's rows back from its safety copy (CREATE TABLE … AS TABLE: a plain table with the
 * same columns, generated values included), naming the columns that take values: a generated
 * column is computed again, and an identity column GENERATED ALWAYS takes the copied value
 * (OVERRIDING SYSTEM VALUE, which a table without one accepts as well). A table without columns
 * gets its empty rows back all the same.
 */
export async function pgCopyRowsBack(client: pg.Client, safety: string, table: string): Promise<void> {
  const cols = (await pgColumns(client, table)).map(pgIdent).join(', ');
  await client.query(
    cols
      ? `INSERT INTO ${pgQualified(table)} (${cols}) OVERRIDING SYSTEM VALUE SELECT ${cols} FROM ${pgQualified(safety)}`
      : `INSERT INTO ${pgQualified(table)} SELECT FROM ${pgQualified(safety)}`,
  );
}
