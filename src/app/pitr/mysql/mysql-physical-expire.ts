import { PrismError, isRetained } from '../../../errors/index.js';
import { decideBaseBackupsByGroup } from '../../../policy/base-backup-retention.js';
import type { Manifest, Repository } from '../../../repo/index.js';
import type { AppContext } from '../../context.js';
import { refuseDamaged } from '../../backups/manifests.js';
import { expireAndPrune, type ExpireOptions, type PruneReport } from '../../maintenance/prune-repository.js';
import { applyBinlogExpiry, planBinlogArchiveExpiry, type BinlogExpireReport, type BinlogExpiry } from './mysql-expire.js';
import { deletePhysicalRecord, listPhysicalRecords, type PhysicalRecord } from './mysql-physical-records.js';

export interface MysqlExpireReport extends BinlogExpireReport {
  /** The rule that decided the base backups: backup.retention_policy.mysql_base_backups_*, or --keep-base-backups N (the newest N, no age rule). */
  policy: { base_backups_count: number; base_backups_age_days: number; from: 'config' | '--keep-base-backups' };
  /** The physical base backups, newest first, with the rule that decided each (counted per server: `database`, or the URL of one taken with --url). */
  base_backups: Array<{ id: string; database: string | null; finished_at: string; size: number; keep: boolean; reasons: string[] }>;
  /** Base backups removed (in a dry run: that would be). */
  removed_base_backups: string[];
}

export interface MysqlExpiry {
  report: MysqlExpireReport;
  binlog: BinlogExpiry;
  removed: Set<string>;
}

export interface MysqlExpiryOptions {
  /** --keep-base-backups: the newest N of each server, whatever their age (default: the configured policy). */
  keep?: number | undefined;
  dryRun: boolean;
  /** The backups that stay (cleanup: those the retention keeps); default every backup in the repository. */
  manifests?: readonly Manifest[] | undefined;
}

/**
 * Which physical base backups the retention keeps (backup.retention_policy.mysql_base_backups_*,
 * or the newest `keep` of each server), and the binary log expiry as if the others were gone.
 * Changes nothing.
 */
export async function planMysqlExpiry(ctx: AppContext, repo: Repository, o: MysqlExpiryOptions): Promise<MysqlExpiry> {
  const keep = o.keep;
  if (keep !== undefined && (!Number.isInteger(keep) || keep < 1))
    throw new PrismError('INVALID_ARGUMENT', `--keep-base-backups ${keep}: give a whole number of at least 1 (the newest base backup is always kept).`);
  const r = ctx.config.backup.retention_policy;
  const policy: MysqlExpireReport['policy'] =
    keep === undefined
      ? { base_backups_count: r.mysql_base_backups_count, base_backups_age_days: r.mysql_base_backups_age_days, from: 'config' }
      : { base_backups_count: keep, base_backups_age_days: 0, from: '--keep-base-backups' };
  const records = await listPhysicalRecords(repo);
  const byId = new Map(records.map((b) => [b.id, b]));
  const decisions = decideBaseBackupsByGroup(records, physicalServer, policy, ctx.clock.now()).map((d) => {
    const b = byId.get(d.id)!;
    return { id: d.id, database: b.database, finished_at: b.finished_at, size: b.size, keep: d.keep, reasons: d.reasons };
  });
  const removed = new Set(decisions.filter((d) => !d.keep).map((d) => d.id));
  const manifests = o.manifests ?? (await refuseDamaged(repo, 'mysql expire'));
  const binlog = await planBinlogArchiveExpiry(repo, manifests, o.dryRun, removed);
  return { report: { ...binlog.report, policy, base_backups: decisions, removed_base_backups: [...removed] }, binlog, removed };
}

/** The server a base backup is counted with: its backup.databases entry, or the URL it was taken from. */
function physicalServer(b: PhysicalRecord): string {
  return b.database ?? b.server.url;
}

/**
 * Removes the records of the expiry: base backups first (killed half-way, what is left is a base
 * backup with its binary logs, or binary logs no one needs, which the next run removes), then the
 * binary log files no kept backup or base backup replays. A base backup kept by object lock keeps
 * the binary logs too, this time.
 */
export async function applyMysqlExpiry(ctx: AppContext, repo: Repository, e: MysqlExpiry): Promise<void> {
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
 * backups the retention (backup.retention_policy.mysql_base_backups_*, or the newest N of each
 * server) no longer keeps and the archived binary log files that no backup and no kept base backup
 * can replay, then (unless `prune: false`) prunes. `prism backup cleanup` does the same.
 */
export function expireMysqlArchive(
  ctx: AppContext,
  opts: ExpireOptions & { keepBaseBackups?: number | undefined } = {},
): Promise<MysqlExpireReport & { prune: PruneReport | null }> {
  return expireAndPrune(ctx, 'prism mysql expire', opts, {
    plan: (repo, dryRun) => planMysqlExpiry(ctx, repo, { keep: opts.keepBaseBackups, dryRun }),
    apply: (repo, e) => applyMysqlExpiry(ctx, repo, e),
    gone: (e) => ({ binlogGone: e.binlog.gone, mysqlBaseGone: e.removed }),
  });
}
