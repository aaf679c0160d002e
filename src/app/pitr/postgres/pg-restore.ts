import { resolve } from 'node:path';
import { PrismError } from '../../../errors/index.js';
import { extractBaseBackup, matchDataDirOwner, pgTimestamp, prepareDataDir, writeRecoverySettings } from '../../../source/postgres/pg-basebackup-restore.js';
import { isSegmentName } from '../../../source/postgres/pg-wal-name.js';
import { lockRepository, openRepository, type AppContext } from '../../context.js';
import { asArchiveError } from './pg-archive-wal.js';
import { readStream } from '../blob-store.js';
import { listBaseRecords, listWalRecords } from './pg-records.js';

export interface PgRestoreOptions {
  at: Date;
  dataDir: string;
  /** The command PostgreSQL runs to fetch WAL (prism's own path), without the `pg restore-wal %f %p` part. */
  prismCommand: string;
}

export interface PgRestoreReport {
  data_dir: string;
  base_backup: string;
  base_finished_at: string;
  target_time: string;
  restore_command: string;
  /** WAL files archived from the base backup's start segment on. */
  wal_files: number;
  last_wal: string | null;
  last_archived_at: string | null;
  warnings: string[];
}

/**
 * `prism pg restore --at TIME --data-dir DIR`: the latest base backup that finished at or
 * before TIME unpacked into an empty DIR, set up to recover to TIME with WAL from the
 * repository (recovery.signal; restore_command, recovery_target_time and
 * recovery_target_action = promote in postgresql.auto.conf). Starting the server does the rest.
 */
export async function restorePointInTime(ctx: AppContext, o: PgRestoreOptions): Promise<PgRestoreReport> {
  const dir = resolve(o.dataDir);
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', 'prism pg restore');
  try {
    const bases = await listBaseRecords(repo);
    const base = bases.filter((b) => Date.parse(b.finished_at) <= o.at.getTime()).at(-1);
    if (!base) {
      const first = bases[0];
      throw new PrismError(
        'PG_ARCHIVE_FAILED',
        `No base backup finished at or before ${o.at.toISOString()}${first ? ` (the oldest finished at ${first.finished_at})` : ' (the repository holds none: run `prism pg basebackup`)'}.`,
        { at: o.at.toISOString() },
      );
    }
    const wal = (await listWalRecords(repo)).filter((w) => isSegmentName(w.name) && w.name.slice(8) >= base.start_wal.slice(8));
    const warnings: string[] = [];
    const last = wal.at(-1);
    if (!wal.some((w) => w.name.slice(8) >= base.stop_wal.slice(8)))
      warnings.push(`The archive does not hold ${base.stop_wal}, the last segment base backup ${base.id} needs: recovery cannot become consistent.`);
    if (last && Date.parse(last.archived_at) < o.at.getTime())
      warnings.push(
        `The newest WAL file (${last.name}) was archived at ${last.archived_at}, before the target time: recovery ends there, and PostgreSQL stops with "recovery ended before configured recovery target was reached" unless more WAL is archived.`,
      );
    prepareDataDir(dir);
    ctx.logger.info({ event: 'pg.restore.start', base: base.id, at: o.at.toISOString(), data_dir: dir }, 'point-in-time restore started');
    await extractBaseBackup(dir, readStream(repo, base.content, base.sha256));
    const restoreCommand = `${o.prismCommand} pg restore-wal %f %p --repo ${shellQuote(ctx.config.storagePath)}`;
    writeRecoverySettings(dir, { restoreCommand, targetTime: o.at, comment: `prism pg restore: base backup ${base.id}, recovery to ${o.at.toISOString()}` });
    matchDataDirOwner(dir);
    ctx.logger.info({ event: 'pg.restore.done', base: base.id, data_dir: dir }, 'point-in-time restore prepared');
    return {
      data_dir: dir,
      base_backup: base.id,
      base_finished_at: base.finished_at,
      target_time: pgTimestamp(o.at),
      restore_command: restoreCommand,
      wal_files: wal.length,
      last_wal: last?.name ?? null,
      last_archived_at: last?.archived_at ?? null,
      warnings,
    };
  } catch (e) {
    throw asArchiveError(e, `restoring into ${dir}`);
  } finally {
    await lock.release().catch(() => {});
  }
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
