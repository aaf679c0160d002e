import { planBinlogExpiry, type BinlogDatabasePlan, type KeptBinlogStart } from '../../../policy/binlog-retention.js';
import type { Manifest, Repository } from '../../../repo/index.js';
import { isRetained } from '../../../errors/index.js';
import type { AppContext } from '../../context.js';
import { refuseDamaged } from '../../backups/manifests.js';
import { binlogKey, deleteBinlogRecord, listBinlogRecords } from './mysql-binlog-records.js';
import { physicalStarts } from './mysql-physical-records.js';
import { expireAndPrune, type ExpireOptions, type PruneReport } from '../../maintenance/prune-repository.js';

export interface BinlogExpireReport {
  dry_run: boolean;
  /** Per database of the archive: the oldest kept position and what expires before it. */
  databases: Array<BinlogDatabasePlan & { expired_bytes: number }>;
  warnings: string[];
}

export interface BinlogExpiry {
  report: BinlogExpireReport;
  /** The records the expiry removes, as binlogKey names. */
  gone: Set<string>;
}

/** The dump positions of the backups that keep their data (the binary log replay starts there). */
export function keptStarts(kept: readonly Manifest[]): KeptBinlogStart[] {
  return kept
    .filter((m) => m.tree !== null)
    .flatMap((m) =>
      (m.databases ?? []).flatMap((d) =>
        d.type === 'mysql' && d.binlog ? [{ database: d.name, backup: m.id, file: d.binlog.file, dumped_at: d.dumped_at }] : [],
      ),
    );
}

/**
 * Which archived binary log files no kept backup can replay (policy/binlog-retention.ts): the
 * archive reaches back as far as the oldest kept backup's dump of each database, or physical base
 * backup's position (but those in `goneBases`). Changes nothing.
 */
export async function planBinlogArchiveExpiry(
  repo: Repository,
  kept: readonly Manifest[],
  dryRun: boolean,
  goneBases?: ReadonlySet<string>,
): Promise<BinlogExpiry> {
  const records = await listBinlogRecords(repo);
  const plan = planBinlogExpiry(records, [...keptStarts(kept), ...(await physicalStarts(repo, goneBases))]);
  const size = new Map(records.map((r) => [binlogKey(r.database, r.name), r.size]));
  const gone = new Set(plan.databases.flatMap((d) => d.expired.map((n) => binlogKey(d.database, n))));
  return {
    report: {
      dry_run: dryRun,
      databases: plan.databases.map((d) => ({ ...d, expired_bytes: d.expired.reduce((n, f) => n + (size.get(binlogKey(d.database, f)) ?? 0), 0) })),
      warnings: plan.warnings,
    },
    gone,
  };
}

/** Removes the records of an expiry, oldest first; the caller holds the exclusive lock. The data goes with prune. */
export async function applyBinlogExpiry(ctx: AppContext, repo: Repository, e: BinlogExpiry): Promise<void> {
  for (const d of e.report.databases) {
    for (const name of d.expired) {
      // oldest first: one kept by its retention (object lock) keeps the newer ones too, so the archive stays whole
      const kept = await deleteBinlogRecord(repo, d.database, name).then(
        () => false,
        (err: unknown) => {
          if (!isRetained(err)) throw err;
          return true;
        },
      );
      if (kept) break;
    }
    if (d.expired.length > 0) {
      ctx.logger.info(
        { event: 'mysql.binlog.expire', database: d.database, files: d.expired.length, first_kept_file: d.first_kept_file },
        `expired ${d.expired.length} binary log file(s) of ${d.database}`,
      );
    }
  }
  for (const w of e.report.warnings) ctx.logger.warn({ event: 'mysql.binlog.expire.warning', warning: w }, w);
}

/**
 * `prism mysql expire`: under the exclusive lock, removes the archived binary log files that no
 * backup in the repository can replay (those before the oldest backup's dump position), then
 * (unless `prune: false`) prunes. `prism backup cleanup` does the same for the backups it keeps.
 */
export function expireBinlogArchive(ctx: AppContext, opts: ExpireOptions = {}): Promise<BinlogExpireReport & { prune: PruneReport | null }> {
  return expireAndPrune(ctx, 'prism mysql expire', opts, {
    plan: async (repo, dryRun) => planBinlogArchiveExpiry(repo, await refuseDamaged(repo, 'mysql expire'), dryRun),
    apply: (repo, e) => applyBinlogExpiry(ctx, repo, e),
    gone: (e) => ({ binlogGone: e.gone }),
  });
}
