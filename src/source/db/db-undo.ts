import { PrismError } from '../../errors/index.js';
import type { DbTarget } from './db-credentials.js';
import { classifyDbError } from './db-errors.js';
import type { TableOutcome } from './db-restore.js';
import { myConnect, myIdent } from '../mysql/mysql-dump.js';
import { pgConnect, pgQualified } from '../postgres/postgres-dump.js';
import { myCopyRows } from '../mysql/mysql-restore.js';
import { myTriggersOn, putTriggersBack, setTriggersAside, type MyTrigger } from '../mysql/mysql-triggers.js';
import { pgCopyRowsBack } from '../postgres/postgres-restore.js';

/**
 * Undoes a committed `prism db restore` from its outcomes: every replaced table gets its rows
 * back from its safety copy (which is then dropped) and, PostgreSQL, its sequences their values
 * from before the restore (else the next insert would draw a key the rows already hold); every
 * created table is dropped. PostgreSQL
 * in one transaction; MySQL: the rows in one transaction, then the drops.
 */
export async function undoDbRestore(t: DbTarget, outcomes: readonly TableOutcome[]): Promise<void> {
  const replaced = outcomes.filter((o) => o.action === 'replace');
  if (replaced.some((o) => !o.safety_copy))
    throw new PrismError('DB_RESTORE_FAILED', `Cannot undo the restore of ${t.shown}: a replaced table has no safety copy.`, { url: t.shown });
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
  } catch (e) {
    await c.query('ROLLBACK').catch(() => {});
    throw classifyDbError(t, e, { what: 'undoing the restore' });
  } finally {
    await c.end().catch(() => {});
  }
}
