import { PrismError } from '../../../errors/index.js';
import type { DbTarget } from '../../../source/db/db-credentials.js';
import { createRestorePoint as createOnServer } from '../../../source/postgres/pg-basebackup-run.js';
import { parseLsn, segmentOf } from '../../../source/postgres/pg-wal-name.js';
import { lockRepository, openRepository, type AppContext } from '../../context.js';
import { asArchiveError } from './pg-archive-wal.js';
import { checkRestorePointName } from './pg-restore.js';
import { listBaseRecords, listRestorePointRecords, putRestorePointRecord, restorePointKey, type RestorePointRecord } from './pg-records.js';

export interface RestorePointReport extends RestorePointRecord {
  /** The WAL segment holding it: recovery to the point needs it archived. */
  wal_file: string;
  warnings: string[];
}

/**
 * `prism pg restore-point NAME [--url URL | --db NAME]`: pg_create_restore_point(NAME) on the
 * server, recorded in the repository (`pg/restore-point/<timeline><LSN>.json`: name, LSN,
 * timeline, time) so that `pg restore --target-name NAME` picks the base backup before it.
 * A name already recorded is refused: recovery stops at the first point of a name it meets.
 */
export async function createRestorePoint(ctx: AppContext, target: DbTarget | undefined, name: string): Promise<RestorePointReport> {
  checkRestorePointName(name, 'Restore point');
  if (target && target.type !== 'postgres') throw new PrismError('INVALID_ARGUMENT', `${target.shown}: restore points are for PostgreSQL (postgres://…).`);
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', 'prism pg restore-point');
  try {
    const existing = (await listRestorePointRecords(repo)).find((p) => p.name === name);
    if (existing)
      throw new PrismError(
        'INVALID_ARGUMENT',
        `A restore point named ${name} exists (LSN ${existing.lsn}, timeline ${existing.timeline}, created ${existing.created_at}): choose another name.`,
        { name },
      );
    const p = await createOnServer(target, name);
    const bases = await listBaseRecords(repo);
    const warnings: string[] = [];
    if (p.archiveMode === 'off')
      warnings.push('The server has archive_mode = off: its WAL is not archived, so this restore point cannot be recovered to from the repository.');
    const other = bases.find((b) => b.server.system_identifier !== p.systemIdentifier);
    if (other)
      warnings.push(
        `The server (system identifier ${p.systemIdentifier}) is not the cluster of this repository's base backups (${other.server.system_identifier}): pass the --url of the cluster that archives here.`,
      );
    const record: RestorePointRecord = {
      format: 1,
      name,
      lsn: p.lsn,
      timeline: p.timeline,
      created_at: p.createdAt.toISOString(),
      system_identifier: p.systemIdentifier,
    };
    await putRestorePointRecord(repo, record, restorePointKey(p.timeline, parseLsn(p.lsn)));
    ctx.logger.info({ event: 'pg.restore_point', name, lsn: p.lsn, timeline: p.timeline }, `restore point ${name} created`);
    const segSize = bases.at(-1)?.server.wal_segment_size ?? 16 * 1024 * 1024;
    return { ...record, wal_file: segmentOf(p.timeline, parseLsn(p.lsn), segSize), warnings };
  } catch (e) {
    throw asArchiveError(e, `creating restore point ${name}`);
  } finally {
    await lock.release().catch(() => {});
  }
}

/** `prism pg restore-points`: the restore points recorded, oldest first. */
export async function listRestorePoints(ctx: AppContext): Promise<RestorePointRecord[]> {
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', 'prism pg restore-points', 10_000);
  try {
    return await listRestorePointRecords(repo);
  } finally {
    await lock.release().catch(() => {});
  }
}
