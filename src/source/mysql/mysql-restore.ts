import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type mysql from 'mysql2/promise';
import { PrismError } from '../../errors/index.js';
import { runNative, type DbTarget } from '../db/db-credentials.js';
import { SAFETY_PREFIX, SCHEMA_OBJECT, type DumpObjectWriter } from '../db/db-dump.js';
import { classifyDbError } from '../db/db-errors.js';
import {
  freeSafetyName,
  outcome,
  type CleanItem,
  type CleanOutcome,
  type CleanSpec,
  type ForeignKeyRef,
  type RestoreInput,
  type RestoreResult,
  type TablePlan,
} from '../db/db-restore.js';
import { MYSQL_DUMP_OPTIONS, myConnect, myIdent, myListTables, myStoredColumns, mysqlTool, splitMysqlDump } from './mysql-dump.js';
import { myTriggersOn, putTriggersBack, setTriggersAside, type MyTrigger } from './mysql-triggers.js';

const SESSION = "SET NAMES utf8mb4; SET FOREIGN_KEY_CHECKS=0; SET UNIQUE_CHECKS=0; SET time_zone='+00:00'; SET SQL_MODE='NO_AUTO_VALUE_ON_ZERO';\n";

export async function planMysql(t: DbTarget, tables: ReadonlyArray<{ name: string; rows: number }>): Promise<TablePlan[]> {
  const c = await myConnect(t);
  try {
    const existing = new Set(await myListTables(c, t.database));
    const out: TablePlan[] = [];
    for (const tb of tables) {
      const exists = existing.has(tb.name);
      const rows = exists ? Number((await c.query<mysql.RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${myIdent(tb.name)}`))[0][0]!['n']) : null;
      out.push({ name: tb.name, action: exists ? 'replace' : 'create', current_rows: rows, backup_rows: tb.rows });
    }
    return out;
  } catch (e) {
    throw classifyDbError(t, e);
  } finally {
    await c.end().catch(() => {});
  }
}

/** Schema statements outside DELIMITER blocks (tables, views) and the blocks themselves (triggers, routines: after the data). */
export function splitMysqlSchema(text: string): { pre: string; post: string } {
  const pre: string[] = [];
  const post: string[] = [];
  let inBlock = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('DELIMITER ')) {
      post.push(line);
      inBlock = !/^DELIMITER ;\s*$/.test(line);
      continue;
    }
    (inBlock ? post : pre).push(line);
  }
  return { pre: pre.join('\n'), post: post.join('\n') };
}

/** The CREATE TABLE statement of one table in a mysqldump schema. */
export function mysqlCreateTable(text: string, table: string): string | undefined {
  const start = text.indexOf(`CREATE TABLE ${myIdent(table)} (`);
  if (start === -1) return undefined;
  const end = text.indexOf(';\n', start);
  return text.slice(start, end === -1 ? undefined : end + 1);
}

const NAME = '`((?:[^`]|``)+)`';
const FK_LINE = /^\s*CONSTRAINT `(?:[^`]|``)+` FOREIGN KEY .*$/;
const unName = (s: string): string => s.replace(/``/g, '`');

/** The foreign keys of every table of a mysqldump schema that reference a table of the same database. */
export function myForeignKeys(text: string): ForeignKeyRef[] {
  const out: ForeignKeyRef[] = [];
  for (const m of text.matchAll(new RegExp(`^CREATE TABLE ${NAME} \\(\n([\\s\\S]*?)\n\\)`, 'gm'))) {
    for (const l of m[2]!.split('\n')) {
      const fk = new RegExp(`^\\s*CONSTRAINT ${NAME} FOREIGN KEY \\(.*?\\) REFERENCES ${NAME} \\(`).exec(l);
      if (fk) out.push({ table: unName(m[1]!), constraint: unName(fk[1]!), references: unName(fk[2]!) });
    }
  }
  return out;
}

/** CREATE TABLE statements without their FOREIGN KEY clauses (--without-foreign-keys). */
export function withoutMyForeignKeys(sql: string): string {
  const lines = sql.split('\n').filter((l) => !FK_LINE.test(l));
  for (let i = 0; i + 1 < lines.length; i++) if (lines[i + 1]!.startsWith(')') && lines[i]!.endsWith(',')) lines[i] = lines[i]!.slice(0, -1);
  return lines.join('\n');
}

/** A name given as a table that is a view (or a sequence) of the backup's schema: the end of a sentence for the error, or undefined. */
export function myNotATable(text: string, name: string): string | undefined {
  const q = myIdent(name).replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  if (new RegExp(`VIEW ${q} AS`).test(text)) return 'is a view: the backup holds its definition, not rows; restore the tables it reads with --table.';
  if (new RegExp(`CREATE SEQUENCE ${q}`).test(text)) return 'is a sequence: a whole-database restore brings it back.';
  if (new RegExp(`CREATE TABLE ${q} \\(`).test(text)) return 'is not backed up (include_tables/exclude_tables leave it out).';
  return undefined;
}

/** Every table, view and sequence a mysqldump schema creates. */
function myBackupObjects(text: string, tables: readonly string[]): Set<string> {
  const has = new Set(tables);
  for (const re of [`CREATE TABLE ${NAME}`, `VIEW ${NAME} AS`, `CREATE SEQUENCE ${NAME}`])
    for (const m of text.matchAll(new RegExp(re, 'g'))) has.add(unName(m[1]!));
  return has;
}

const MY_KINDS: Record<string, CleanItem['kind']> = { 'BASE TABLE': 'table', 'SYSTEM VERSIONED': 'table', VIEW: 'view', SEQUENCE: 'sequence' };

async function myCleanPlan(c: mysql.Connection, schema: string, tables: readonly string[], spec: CleanSpec): Promise<{ drop: CleanItem[]; kept: string[] }> {
  const has = myBackupObjects(schema, tables);
  const [rows] = await c.query<mysql.RowDataPacket[]>(
    'SELECT TABLE_NAME AS n, TABLE_TYPE AS k FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY CREATE_TIME, TABLE_NAME',
  );
  const drop: CleanItem[] = [];
  const kept: string[] = [];
  for (const r of rows) {
    const name = String(r['n']);
    const kind = MY_KINDS[String(r['k'])];
    if (!kind || name.startsWith(SAFETY_PREFIX) || has.has(name)) continue;
    if (kind === 'table' && spec.keep(name)) kept.push(name);
    else drop.push({ kind, name });
  }
  return { drop, kept };
}

/** What --clean would remove from the target (and the tables it keeps for include_tables/exclude_tables). */
export async function planMysqlClean(
  t: DbTarget,
  schema: Record<string, string>,
  tables: readonly string[],
  spec: CleanSpec,
): Promise<{ drop: CleanItem[]; kept: string[] }> {
  const c = await myConnect(t);
  try {
    return await myCleanPlan(c, schema[SCHEMA_OBJECT] ?? '', tables, spec);
  } catch (e) {
    throw classifyDbError(t, e);
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * Removes `items`: with safety copies each table, view or sequence is renamed
 * _prism_safety_<stamp>_<name> (nothing copied, its indexes, triggers and rows kept), and the
 * foreign keys between what is renamed and what stays are dropped (a table kept must not refer
 * to a safety copy, nor a safety copy block or cascade into a table kept); without, each is
 * dropped. A failure midway puts back what was done. The outcome holds the statements that put
 * everything back.
 */
async function myClean(c: mysql.Connection, items: readonly CleanItem[], safety: boolean, stamp: string): Promise<CleanOutcome> {
  const out: CleanOutcome = { removed: [], foreign_keys_dropped: [], undo: [], drop_safety: [] };
  if (items.length === 0) return out;
  const names = new Set(items.map((i) => i.name));
  const [rows] = await c.query<mysql.RowDataPacket[]>(
    `SELECT k.CONSTRAINT_NAME AS c, k.TABLE_NAME AS t, k.COLUMN_NAME AS col, k.REFERENCED_TABLE_NAME AS rt, k.REFERENCED_COLUMN_NAME AS rcol,
            r.UPDATE_RULE AS u, r.DELETE_RULE AS d
       FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r
         ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.TABLE_NAME = k.TABLE_NAME AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME
      WHERE k.TABLE_SCHEMA = DATABASE() AND k.REFERENCED_TABLE_SCHEMA = DATABASE() ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`,
  );
  const fks = new Map<string, { table: string; name: string; cols: string[]; ref: string; rcols: string[]; u: string; d: string }>();
  for (const r of rows) {
    const key = `${String(r['t'])}\0${String(r['c'])}`;
    const f = fks.get(key) ?? { table: String(r['t']), name: String(r['c']), cols: [], ref: String(r['rt']), rcols: [], u: String(r['u']), d: String(r['d']) };
    f.cols.push(String(r['col']));
    f.rcols.push(String(r['rcol']));
    fks.set(key, f);
  }
  const redo: string[] = [];
  try {
    for (const f of fks.values()) {
      if (names.has(f.table) === names.has(f.ref)) continue;
      await c.query(`ALTER TABLE ${myIdent(f.table)} DROP FOREIGN KEY ${myIdent(f.name)}`);
      out.foreign_keys_dropped.push(`${f.table}.${f.name}`);
      redo.push(
        `ALTER TABLE ${myIdent(f.table)} ADD CONSTRAINT ${myIdent(f.name)} FOREIGN KEY (${f.cols.map(myIdent).join(', ')}) REFERENCES ${myIdent(f.ref)} (${f.rcols.map(myIdent).join(', ')}) ON DELETE ${f.d} ON UPDATE ${f.u};`,
      );
    }
    for (const it of items) {
      if (!safety) {
        await c.query(`DROP ${it.kind === 'view' ? 'VIEW' : it.kind === 'sequence' ? 'SEQUENCE' : 'TABLE'} ${myIdent(it.name)}`);
        out.removed.push({ ...it, safety: null });
        continue;
      }
      const to = await freeSafetyName(
        stamp,
        it.name,
        64,
        async (n) =>
          (await c.query<mysql.RowDataPacket[]>('SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?', [n]))[0].length >
          0,
      );
      await c.query(`RENAME TABLE ${myIdent(it.name)} TO ${myIdent(to)}`);
      out.removed.push({ ...it, safety: to });
      out.undo.push(`RENAME TABLE ${myIdent(to)} TO ${myIdent(it.name)};`);
      // newest first: a table referencing another set aside with it goes before that one
      out.drop_safety.unshift(`DROP ${it.kind === 'view' ? 'VIEW' : it.kind === 'sequence' ? 'SEQUENCE' : 'TABLE'} ${myIdent(to)};`);
    }
  } catch (e) {
    for (const s of [...out.undo, ...redo]) await c.query(s).catch(() => {});
    throw e;
  }
  out.undo.push(...redo);
  return out;
}

/**
 * Restores MySQL/MariaDB tables. DDL is not transactional there, so: (1) safety copies of the
 * existing tables (CREATE TABLE … LIKE + INSERT … SELECT) and the missing tables created, and
 * the existing tables' triggers set aside (MySQL cannot switch them off for a session, and the
 * rows loaded are not new events); (2) ONE transaction, through the native client, that empties
 * and reloads every table (a failure rolls it back: the originals are untouched); (3) the tables
 * are dumped again and compared with the manifest, and a mismatch puts the originals back from
 * their safety copies; then the triggers are created again. Tables created in (1) are dropped
 * again on failure, so the target is as it was.
 */
export async function restoreMysql(t: DbTarget, input: RestoreInput): Promise<RestoreResult> {
  const c = await myConnect(t);
  const created: string[] = [];
  const copies = new Map<string, string>();
  /** Triggers of the tables replaced, dropped while their rows are loaded (and put back). */
  const aside: MyTrigger[] = [];
  let step = 'listing tables';
  let loaded = false;
  try {
    await c.query("SET NAMES utf8mb4, time_zone = '+00:00', FOREIGN_KEY_CHECKS = 0");
    const existing = new Set(await myListTables(c, t.database));
    const schemaText = input.withoutForeignKeys ? withoutMyForeignKeys(input.schema[SCHEMA_OBJECT] ?? '') : (input.schema[SCHEMA_OBJECT] ?? '');
    const schema = splitMysqlSchema(schemaText);
    const fresh = input.wholeDatabase && input.tables.every((tb) => !existing.has(tb.name));
    if (fresh) {
      step = 'creating the schema';
      input.log('db.restore.schema', { part: 'tables' });
      created.push(...input.tables.map((tb) => tb.name));
      await runNative(t, mysqlTool('client'), ['--batch', '--default-character-set=utf8mb4', t.database], { input: schema.pre, what: step });
    }
    for (const tb of input.tables) {
      if (existing.has(tb.name)) {
        if (!input.safetyCopies) continue;
        step = `copying ${tb.name} to its safety copy`;
        const safety = await freeSafetyName(
          input.stamp,
          tb.name,
          64,
          async (n) =>
            (await c.query<mysql.RowDataPacket[]>('SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?', [n]))[0]
              .length > 0,
        );
        await c.query(`CREATE TABLE ${myIdent(safety)} LIKE ${myIdent(tb.name)}`);
        copies.set(tb.name, safety);
        await myCopyRows(c, tb.name, safety);
      } else if (!fresh) {
        step = `creating ${tb.name}`;
        const ddl = mysqlCreateTable(schemaText, tb.name);
        if (!ddl) throw new PrismError('DB_RESTORE_FAILED', `The backup's schema has no CREATE TABLE for ${tb.name}.`);
        created.push(tb.name);
        await c.query(ddl);
      }
    }
    step = 'setting the triggers aside';
    const replaced = input.tables.filter((tb) => existing.has(tb.name)).map((tb) => tb.name);
    const triggers = await myTriggersOn(c, replaced);
    if (triggers.length > 0) input.log('db.restore.triggers', { set_aside: triggers.map((x) => ({ name: x.name, table: x.table, sql: x.sql })) });
    await setTriggersAside(c, triggers, aside);
    step = 'loading the tables';
    await runNative(t, mysqlTool('client'), ['--batch', '--default-character-set=utf8mb4', t.database], {
      what: step,
      stdin: async (inp) => {
        inp.write(SESSION + 'START TRANSACTION;\n');
        for (const tb of input.tables) {
          input.log('db.restore.table', {
            table: tb.name,
            action: existing.has(tb.name) ? 'replace' : 'create',
            safety_copy: copies.get(tb.name) ?? null,
            rows: tb.rows,
          });
          inp.write(`DELETE FROM ${myIdent(tb.name)};\n`);
          await pipeline(tb.open(), inp, { end: false });
        }
        inp.end('COMMIT;\n');
      },
    });
    loaded = true;
    if (fresh && schema.post.trim()) {
      step = 'creating triggers and routines';
      await runNative(t, mysqlTool('client'), ['--batch', '--default-character-set=utf8mb4', t.database], { input: schema.post, what: step });
    }
    step = 'checking row counts and checksums';
    const got = await dumpChecks(
      t,
      input.tables.map((tb) => tb.name),
    );
    const outcomes = input.tables.map((tb) => {
      const g = got.get(tb.name) ?? { rows: 0, sha256: createHash('sha256').digest('hex') };
      return outcome(tb, existing.has(tb.name) ? 'replace' : 'create', copies.get(tb.name) ?? null, g.rows, g.sha256);
    });
    const bad = outcomes.filter((o) => !o.ok);
    if (bad.length > 0) {
      throw new PrismError(
        'DB_VERIFY_FAILED',
        `Restored data does not match the backup: ${bad.map((o) => `${o.name} (${o.rows_restored} rows, expected ${o.rows_expected}${o.sha256_restored !== o.sha256_expected ? ', checksum differs' : ''})`).join(', ')}; the original tables were put back.`,
        {
          tables: outcomes,
        },
      );
    }
    step = 'creating the triggers again';
    await putTriggersBack(c, aside);
    if (!input.clean) return { tables: outcomes };
    step = 'removing what the backup does not have (--clean)';
    const plan = await myCleanPlan(
      c,
      input.schema[SCHEMA_OBJECT] ?? '',
      input.tables.map((tb) => tb.name),
      input.clean,
    );
    const clean = await myClean(c, plan.drop, input.safetyCopies, input.stamp);
    input.log('db.restore.clean', { removed: clean.removed, foreign_keys_dropped: clean.foreign_keys_dropped, kept: plan.kept });
    return { tables: outcomes, clean };
  } catch (e) {
    await rollBack(c, loaded, created, copies, aside).catch((u: unknown) =>
      input.log('db.restore.rollback_failed', { error: String(u), triggers_not_created: aside.map((x) => x.name) }),
    );
    if (e instanceof PrismError && (e.code === 'DB_VERIFY_FAILED' || e.code === 'CHECKSUM_MISMATCH' || e.code === 'DB_RESTORE_FAILED')) throw e;
    const cl = classifyDbError(t, e, { what: step });
    if (cl.code === 'DB_UNREACHABLE' || cl.code === 'DB_AUTH_FAILED') throw cl;
    throw new PrismError(
      'DB_RESTORE_FAILED',
      `Restore into ${t.shown} failed while ${step}; rolled back, the tables are as they were: ${cl.message.replace(/^Database .*? failed while [^:]*: /, '')}`,
      { url: t.shown, step },
    );
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * Undo: originals back from their safety copies (only if the load committed), the triggers set
 * aside created again (after the rows: they would fire), created tables and the copies dropped.
 */
async function rollBack(c: mysql.Connection, loaded: boolean, created: string[], copies: Map<string, string>, aside: MyTrigger[]): Promise<void> {
  try {
    await c.query('SET FOREIGN_KEY_CHECKS = 0');
    if (loaded) {
      await c.query('START TRANSACTION');
      for (const [table, safety] of copies) {
        await c.query(`DELETE FROM ${myIdent(table)}`);
        await myCopyRows(c, safety, table);
      }
      await c.query('COMMIT');
    }
  } finally {
    // rows half put back are undone before CREATE TRIGGER, which would commit them
    await c.query('ROLLBACK');
    await putTriggersBack(c, aside);
  }
  for (const table of created) await c.query(`DROP TABLE IF EXISTS ${myIdent(table)}`);
  for (const safety of copies.values()) await c.query(`DROP TABLE IF EXISTS ${myIdent(safety)}`);
}

/**
 * INSERT … SELECT of every row of `from` into `to` (a table and its safety copy, made with
 * CREATE TABLE … LIKE: the same columns), naming the columns that take values: a generated
 * column is computed again, an invisible one is copied too.
 */
export async function myCopyRows(c: mysql.Connection, from: string, to: string): Promise<void> {
  const cols = (await myStoredColumns(c, to)).map(myIdent).join(', ');
  await c.query(`INSERT INTO ${myIdent(to)} (${cols}) SELECT ${cols} FROM ${myIdent(from)}`);
}

/** Row counts and SHA-256 of the tables' data as the backup would dump them now. */
export async function dumpChecks(t: DbTarget, tables: readonly string[]): Promise<Map<string, { rows: number; sha256: string }>> {
  const out = new Map<string, { rows: number; sha256: string }>();
  const hashing = (): DumpObjectWriter => {
    const h = createHash('sha256');
    let bytes = 0;
    return {
      write: async (d) => {
        h.update(d);
        bytes += d.length;
      },
      close: async () => ({ bytes, checksum: h.digest('hex') }),
    };
  };
  await runNative(t, mysqlTool('dump'), [...MYSQL_DUMP_OPTIONS, '--skip-triggers', t.database, ...tables], {
    what: 'reading the restored tables back',
    stdout: (s) => splitMysqlDump(s, undefined, hashing, (d) => void out.set(d.name, { rows: d.rows, sha256: d.checksum })),
  });
  return out;
}
