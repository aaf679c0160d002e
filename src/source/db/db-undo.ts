import { PrismError } from '../../errors/index.js';
import type { DbTarget } from './db-credentials.js';
import { classifyDbError } from './db-errors.js';
import type { CleanOutcome, TableOutcome } from './db-restore.js';
import { myConnect, myIdent } from '../mysql/mysql-dump.js';
import { pgConnect, pgQualified } from '../postgres/postgres-dump.js';
import { myCopyRows } from '../mysql/mysql-restore.js';
import { myTriggersOn, putTriggersBack, setTriggersAside, type MyTrigger } from '../mysql/mysql-triggers.js';
import { pgCopyRowsBack } from '../postgres/postgres-restore.js';
import { pgRefreshMatviews } from '../postgres/postgres-clean.js';

/**
 * Undoes a committed `prism db restore` from its outcomes: every replaced table gets its rows
 * back from its safety copy (which is then dropped) and, PostgreSQL, its sequences their values
 * from before the restore (else the next insert would draw a key the rows already hold); every
 * created table is dropped; what --clean set aside is put back (`clean.undo`). PostgreSQL in one
 * transaction (the materialized views over the tables refreshed again); MySQL: the rows in one
 * transaction, then the drops and the renames back.
 */
export async function undoDbRestore(t: DbTarget, outcomes: readonly TableOutcome[], clean?: CleanOutcome): Promise<void> {
  const replaced = outcomes.filter((o) => o.action === 'replace');
  if (replaced.some((o) => !o.safety_copy))
    throw new PrismError('DB_RESTORE_FAILED', `Cannot undo the restore of ${t.shown}: a replaced table has no safety copy.`, { url: t.shown });
  if (clean?.removed.some((r) => r.safety === null))
    throw new PrismError('DB_RESTORE_FAILED', `Cannot undo the restore of ${t.shown}: --clean dropped objects without a safety copy.`, { url: t.shown });
  if (t.type === 'postgres') {
    const c = await pgConnect(t);
    try {
      await c.query('BEGIN');
      await c.query('SAVEPOINT r');
      await c.query('SET LOCAL session_replication_role = replica').then(
        () => c.query('RELEASE SAVEPOINT r'),
        () => c.query('ROLLBACK TO SAVEPOINT r'),
      );
      for (const o of replaced) {
        await c.query(`DELETE FROM ${pgQualified(o.name)}`);
        await pgCopyRowsBack(c, o.safety_copy!, o.name);
        await c.query(`DROP TABLE ${pgQualified(o.safety_copy!)}`);
        for (const s of o.sequences_before ?? [])
          await c.query(`SELECT pg_catalog.setval($1::regclass, $2::bigint, $3)`, [pgQualified(s.name), s.value, s.is_called]);
      }
      for (const o of outcomes.filter((x) => x.action === 'create')) await c.query(`DROP TABLE IF EXISTS ${pgQualified(o.name)} CASCADE`);
      for (const s of clean?.undo ?? []) await c.query(s);
      await pgRefreshMatviews(
        c,
        replaced.map((o) => o.name),
      );
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => {});
      throw classifyDbError(t, e, { what: 'undoing the restore' });
    } finally {
      await c.end().catch(() => {});
    }
    return;
  }
  const c = await myConnect(t);
  const aside: MyTrigger[] = [];
  try {
    await c.query('SET FOREIGN_KEY_CHECKS = 0');
    const names = replaced.map((o) => o.name);
    try {
      // the rows put back would fire the tables' triggers again (MySQL cannot switch them off)
      await setTriggersAside(c, await myTriggersOn(c, names), aside);
      await c.query('START TRANSACTION');
      for (const o of replaced) {
        await c.query(`DELETE FROM ${myIdent(o.name)}`);
        await myCopyRows(c, o.safety_copy!, o.name);
      }
      await c.query('COMMIT');
    } finally {
      await c.query('ROLLBACK'); // nothing half done is committed by CREATE TRIGGER
      await putTriggersBack(c, aside);
    }
    for (const o of replaced) await c.query(`DROP TABLE ${myIdent(o.safety_copy!)}`);
    for (const o of outcomes.filter((x) => x.action === 'create')) await c.query(`DROP TABLE IF EXISTS ${myIdent(o.name)}`);
    for (const s of clean?.undo ?? []) await c.query(s);
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw classifyDbError(t, e, { what: 'undoing the restore' });
  } finally {
    await c.end().catch(() => {});
  }
}
