import { PrismError, isRetained } from '../../../errors/index.js';
import type { Repository } from '../../../repo/index.js';
import type { AppContext } from '../../context.js';
import { refuseDamaged } from '../../backups/manifests.js';
import { expireAndPrune, type ExpireOptions, type PruneReport } from '../../maintenance/prune-repository.js';
import { applyBinlogExpiry, planBinlogArchiveExpiry, type BinlogExpireReport, type BinlogExpiry } from './mysql-expire.js';
import { deletePhysicalRecord, listPhysicalRecords } from './mysql-physical-records.js';

export interface MysqlExpireReport extends BinlogExpireReport {
  /** The physical base backups, newest first, and whether --keep-base-backups keeps each (all kept without it). */
  base_backups: Array<{ id: string; finished_at: string; size: number; keep: boolean; reason: string }>;
  /** Base backups removed (in a dry run: that would be). */
  removed_base_backups: string[];
}

interface MysqlExpiry {
  report: MysqlExpireReport;
  binlog: BinlogExpiry;
  removed: Set<string>;
}

/** Which physical base backups `keep` (the newest N; undefined: all) keeps, and the binary log expiry as if the others were gone. */
export async function planMysqlExpiry(repo: Repository, keep: number | undefined, dryRun: boolean): Promise<MysqlExpiry> {
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 1))
    throw new PrismError('INVALID_ARGUMENT', `--keep-base-backups ${keep}: give a whole number of at least 1 (the newest base backup is always kept).`);
  const newest = (await listPhysicalRecords(repo)).reverse();
  const decisions = newest.map((b, i) => ({
    id: b.id,
    finished_at: b.finished_at,
    size: b.size,
    keep: keep === undefined || i < keep,
    reason: keep === undefined ? 'no --keep-base-backups' : i < keep ? `among the newest ${keep}` : `older than the newest ${keep}`,
  }));
  const removed = new Set(decisions.filter((d) => !d.keep).map((d) => d.id));
  const binlog = await planBinlogArchiveExpiry(repo, await refuseDamaged(repo, 'mysql expire'), dryRun, removed);
  return { report: { ...binlog.report, base_backups: decisions, removed_base_backups: [...removed] }, binlog, removed };
}

/**
 * Removes the records of the expiry: base backups first (killed half-way, what is left is a base
 * backup with its binary logs, or binary logs no one needs, which the next run removes), then the
 * binary log files no kept backup or base backup replays. A base backup kept by object lock keeps
 * the binary logs too, this time.
 */
async function applyMysqlExpiry(ctx: AppContext, repo: Repository, e: MysqlExpiry): Promise<void> {
  let retained = 0;
  for (const id of e.removed) {
    await deletePhysicalRecord(repo, id).catch((err: unknown) => {
      if (!isRetained(err)) throw err;
      retained++;
    });
  }
  if (e.removed.size > 0)
    ctx.logger.info(
      { event: 'mysql.basebackup.expire', base_backups: [...e.removed], retained },
      `expired ${e.removed.size - retained} physical base backup(s)`,
    );
  if (retained > 0) return;
  await applyBinlogExpiry(ctx, repo, e.binlog);
}

/**
 * `prism mysql expire [--keep-base-backups N]`: under the exclusive lock, removes the physical base
 * backups beyond the newest N and the archived binary log files that no backup and no kept base
 * backup can replay, then (unless `prune: false`) prunes.
 */
export function expireMysqlArchive(
  ctx: AppContext,
  opts: ExpireOptions & { keepBaseBackups?: number | undefined } = {},
): Promise<MysqlExpireReport & { prune: PruneReport | null }> {
  return expireAndPrune(ctx, 'prism mysql expire', opts, {
    plan: (repo, dryRun) => planMysqlExpiry(repo, opts.keepBaseBackups, dryRun),
    apply: (repo, e) => applyMysqlExpiry(ctx, repo, e),
    gone: (e) => ({ binlogGone: e.binlog.gone, mysqlBaseGone: e.removed }),
  });
}
