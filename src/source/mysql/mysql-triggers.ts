import type mysql from 'mysql2/promise';
import { myIdent } from './mysql-dump.js';

/**
 * A trigger as SHOW CREATE TRIGGER gives it: its CREATE statement and the session settings it was
 * created in that are part of what it does (its sql_mode, the collation its literals compare in).
 */
export interface MyTrigger {
  name: string;
  table: string;
  sql: string;
  sqlMode: string;
  collation: string;
}

/**
 * The triggers on `tables`, in the order they fire. MySQL/MariaDB cannot switch triggers off for
 * a session (PostgreSQL's session_replication_role): rows loaded into a table, or put back from
 * its safety copy, would fire them again (an audit trigger writing a second row into another
 * table), so they are set aside while rows are loaded and created again afterwards.
 */
export async function myTriggersOn(c: mysql.Connection, tables: readonly string[]): Promise<MyTrigger[]> {
  if (tables.length === 0) return [];
  const [rows] = await c.query<mysql.RowDataPacket[]>(
    `SELECT TRIGGER_NAME AS n, EVENT_OBJECT_TABLE AS t FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND EVENT_OBJECT_TABLE IN (?)
      ORDER BY EVENT_OBJECT_TABLE, EVENT_MANIPULATION, ACTION_TIMING, ACTION_ORDER`,
    [tables],
  );
  const out: MyTrigger[] = [];
  for (const r of rows) {
    const [show] = await c.query<mysql.RowDataPacket[]>(`SHOW CREATE TRIGGER ${myIdent(String(r['n']))}`);
    const s = show[0]!;
    out.push({
      name: String(r['n']),
      table: String(r['t']),
      // created again in firing order, each after the ones before it: an ordering clause is not needed (and could name one not there yet)
      sql: String(s['SQL Original Statement']).replace(/(\bFOR\s+EACH\s+ROW)\s+(?:FOLLOWS|PRECEDES)\s+(?:`(?:[^`]|``)+`|[\w$]+)/i, '$1'),
      sqlMode: String(s['sql_mode']),
      collation: String(s['collation_connection']),
    });
  }
  return out;
}

/** Drops the triggers, each added to `aside` once dropped: what putTriggersBack creates again. */
export async function setTriggersAside(c: mysql.Connection, triggers: readonly MyTrigger[], aside: MyTrigger[]): Promise<void> {
  for (const t of triggers) {
    await c.query(`DROP TRIGGER ${myIdent(t.name)}`);
    aside.push(t);
  }
}

/**
 * Creates the triggers set aside again, in order, each taken from `aside` once created; each in
 * the sql_mode and collation it was created in (the client character set stays the
 * connection's: the statement is sent in it), the connection's own settings kept.
 */
export async function putTriggersBack(c: mysql.Connection, aside: MyTrigger[]): Promise<void> {
  if (aside.length === 0) return;
  await c.query('SET @prism_sql_mode = @@SESSION.sql_mode, @prism_coll = @@SESSION.collation_connection');
  try {
    while (aside.length > 0) {
      const t = aside[0]!;
      await c.query('SET SESSION sql_mode = ?, collation_connection = ?', [t.sqlMode, t.collation]);
      await c.query(t.sql);
      aside.shift();
    }
  } finally {
    await c.query('SET SESSION sql_mode = @prism_sql_mode, collation_connection = @prism_coll');
  }
}
