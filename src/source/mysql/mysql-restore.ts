import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type mysql from 'mysql2/promise';
import { PrismError } from '../../errors/index.js';
import { runNative, type DbTarget } from '../db/db-credentials.js';
import { SCHEMA_OBJECT, type DumpObjectWriter } from '../db/db-dump.js';
import { classifyDbError } from '../db/db-errors.js';
import { freeSafetyName, outcome, type RestoreInput, type TableOutcome, type TablePlan } from '../db/db-restore.js';
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
export async function restoreMysql(t: DbTarget, input: RestoreInput): Promise<TableOutcome[]> {
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
    const schema = splitMysqlSchema(input.schema[SCHEMA_OBJECT] ?? '');
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
        const ddl = mysqlCreateTable(input.schema[SCHEMA_OBJECT] ?? '', tb.name);
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
    return outcomes;
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
