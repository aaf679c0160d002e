import type { ValueOrigin } from '../../config/index.js';
import { PrismError, isRetained, retainedUntil } from '../../errors/index.js';
import { isFutureDated } from '../../policy/future-dated.js';
import { applyRetentionByHost, futureDated, type RetentionDecision, type RetentionPolicy } from '../../policy/retention.js';
import type { PrunePlan } from '../../repo/pruner.js';
import { lockRepository, openRepository, type AppContext } from '../context.js';
import { loadAll } from '../backups/list-backups.js';
import { refuseDamaged } from '../backups/manifests.js';
import { applyMysqlExpiry, planMysqlExpiry, type MysqlExpireReport } from '../pitr/mysql/mysql-physical-expire.js';
import { applyPgExpiry, planPgExpiry, type PgExpireReport } from '../pitr/postgres/pg-expire.js';
import { pruneLocked, type PruneReport } from './prune-repository.js';

/** Failed attempts are kept (and reported by `prism backup failures`) this long. */
export const FAILURE_WINDOW_DAYS = 30;

export interface PolicyReport {
  retention_policy: {
    full_backups: { count: number; age_days: number };
    incremental_backups: { count: number; age_days: number };
    max_total_backups: number;
    pg_base_backups: { count: number; age_days: number };
    mysql_base_backups: { count: number; age_days: number };
  };
  failed_attempts_days: number;
  /** Where each value came from. */
  origins: Record<string, ValueOrigin>;
}

export function retentionPolicy(ctx: AppContext): RetentionPolicy {
  return { ...ctx.config.backup.retention_policy, failed_attempts_days: FAILURE_WINDOW_DAYS };
}

export function policyReport(ctx: AppContext): PolicyReport {
  const r = ctx.config.backup.retention_policy;
  const o = (k: string) => ctx.config.origins[`backup.retention_policy.${k}`] ?? 'default';
  return {
    retention_policy: {
      full_backups: { count: r.full_backups_count, age_days: r.full_backups_age_days },
      incremental_backups: { count: r.incremental_backups_count, age_days: r.incremental_backups_age_days },
      max_total_backups: r.max_total_backups,
      pg_base_backups: { count: r.pg_base_backups_count, age_days: r.pg_base_backups_age_days },
      mysql_base_backups: { count: r.mysql_base_backups_count, age_days: r.mysql_base_backups_age_days },
    },
    failed_attempts_days: FAILURE_WINDOW_DAYS,
    origins: Object.fromEntries(
      [
        'full_backups_count',
        'full_backups_age_days',
        'incremental_backups_count',
        'incremental_backups_age_days',
        'max_total_backups',
        'pg_base_backups_count',
        'pg_base_backups_age_days',
        'mysql_base_backups_count',
        'mysql_base_backups_age_days',
      ].map((k) => [k, o(k)]),
    ),
  };
}

/** A backup dated in the future: cleanup neither counts nor removes it (policy/future-dated.ts). */
export interface FutureDatedBackup {
  id: string;
  host: string;
  type: string;
  status: string;
  started_at: string;
  finished_at: string | null;
}

export interface CleanupReport {
  dry_run: boolean;
  decisions: RetentionDecision[];
  removed: string[];
  /** Backups dated in the future: not genuine (or their host's clock is wrong); kept, and to be looked at. */
  future_dated: FutureDatedBackup[];
  /** The PostgreSQL point-in-time archive: base backups and WAL files expired. */
  pg_archive: PgExpireReport;
  /**
   * The MySQL/MariaDB archive: physical base backups expired (backup.retention_policy.mysql_base_backups_*),
   * and the binary log files before the oldest kept backup's dump position or kept base backup's position.
   */
  binlog_archive: MysqlExpireReport;
  /** Expired backups the store keeps under retention (object lock) for now: a later cleanup removes them (`until`: null for a legal hold). */
  retained: { id: string; until: string | null }[];
  prune: PruneReport;
}

/** Applies the retention policy: removes the manifests it rejects and the PITR, physical base backup and binary log records it expires, then prunes. */
export async function cleanupBackups(ctx: AppContext, opts: { dryRun?: boolean; lockWaitMs?: number } = {}): Promise<CleanupReport> {
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'exclusive', 'prism backup cleanup', opts.lockWaitMs ?? 0);
  try {
    // under the exclusive lock nothing runs: a `running` manifest is a killed attempt (loadAll says so)
    const all = await loadAll(repo, ctx);
    await refuseDamaged(repo, 'cleanup');
    const now = ctx.clock.now();
    const decisions = applyRetentionByHost(all, retentionPolicy(ctx), now);
    const removed = decisions.filter((d) => !d.keep).map((d) => d.id);
    const future = futureDated(all, now).map((m) => ({
      id: m.id,
      host: m.host,
      type: m.type,
      status: m.status,
      started_at: m.started_at,
      finished_at: m.finished_at,
    }));
    for (const f of future)
      ctx.logger.warn(
        { event: 'retention.future_backup', id: f.id, host: f.host, started_at: f.started_at, finished_at: f.finished_at },
        `backup ${f.id} is dated in the future: cleanup neither counts nor removes it; inspect it with \`prism backup info ${f.id}\``,
      );
    // planned before anything changes: a damaged pg/ or mysql/ record stops the cleanup here
    const pg = await planPgExpiry(ctx, repo, opts.dryRun ?? false);
    const kept = all.filter((m) => !removed.includes(m.id));
    const mysql = await planMysqlExpiry(ctx, repo, { dryRun: opts.dryRun ?? false, manifests: kept });
    const retained: CleanupReport['retained'] = [];
    if (!opts.dryRun) {
      for (const id of removed) {
        await repo.deleteManifest(id).catch((e: unknown) => {
          if (!isRetained(e)) throw e;
          retained.push({ id, until: retainedUntil(e)?.toISOString() ?? null });
        });
      }
      if (retained.length > 0) {
        ctx.logger.warn(
          { event: 'cleanup.retained', backups: retained },
          `${retained.length} expired backup(s) are under retention (object lock) and stay until it passes`,
        );
      }
      ctx.logger.info({ event: 'cleanup.removed', ids: gone(removed, retained) }, `cleanup removed ${gone(removed, retained).length} backups`);
      await applyPgExpiry(ctx, repo, pg);
      await applyMysqlExpiry(ctx, repo, mysql);
    }
    // the dry run plans the prune as if the manifests and records were gone
    const asIf = opts.dryRun ? { manifests: kept, pgGone: pg.gone, binlogGone: mysql.binlog.gone, mysqlBaseGone: mysql.removed } : {};
    const prune = await pruneLocked(ctx, repo, { dryRun: opts.dryRun ?? false }, asIf);
    return {
      dry_run: opts.dryRun ?? false,
      decisions,
      removed: gone(removed, retained),
      future_dated: future,
      pg_archive: pg.report,
      binlog_archive: mysql.report,
      retained,
      prune,
    };
  } finally {
    await lock.release();
  }
}

/** The removed backups less those the store keeps under retention. */
function gone(removed: readonly string[], retained: CleanupReport['retained']): string[] {
  return removed.filter((id) => !retained.some((r) => r.id === id));
}

export interface DeleteReport {
  id: string;
  deleted: boolean;
  dependants: string[];
  refused_reason: string | null;
  prune: PrunePlan | null;
}

const THREE_DAYS = 3 * 86_400_000;

/**
 * Deletes one backup (SOP 4.2). Without `confirm` it only reports. A full backup younger than
 * 3 days, or the newest full backup, needs `force` (SOP best practice).
 */
export async function deleteBackup(
  ctx: AppContext,
  id: string,
  opts: { confirm?: boolean; force?: boolean; prune?: boolean; lockWaitMs?: number },
): Promise<DeleteReport> {
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, opts.confirm ? 'exclusive' : 'shared', 'prism backup delete', opts.lockWaitMs ?? 0);
  try {
    const all = await loadAll(repo, ctx);
    if (opts.confirm) await refuseDamaged(repo, 'delete');
    const m = all.find((x) => x.id === id);
    if (!m) throw new PrismError('BACKUP_NOT_FOUND', `Backup ${id} not found; run \`prism backup list\`.`, { id });
    const children = new Map<string, string[]>();
    for (const x of all) if (x.parent && x.tree) children.set(x.parent, [...(children.get(x.parent) ?? []), x.id]);
    const dependants: string[] = [];
    for (const queue = [...(children.get(id) ?? [])]; queue.length > 0;) {
      const d = queue.shift()!;
      dependants.push(d);
      queue.push(...(children.get(d) ?? []));
    }
    let refused: string | null = null;
    const now = ctx.clock.now();
    // a backup dated in the future is no recent full backup to protect (cleanup warns about it and sends the operator here),
    // nor does it take the newest-full protection from a genuine one
    if (m.type === 'full' && m.status === 'completed' && !isFutureDated(m, now)) {
      const newestFull = [...all].reverse().find((x) => x.type === 'full' && x.status === 'completed' && !isFutureDated(x, now));
      if (newestFull?.id === id) refused = 'it is the newest completed full backup';
      else if (now.getTime() - Date.parse(m.started_at) < THREE_DAYS) refused = 'it is a full backup younger than 3 days';
    }
    const report: DeleteReport = { id, deleted: false, dependants, refused_reason: refused, prune: null };
    if (!opts.confirm) return report;
    if (refused && !opts.force) {
      throw new PrismError('DELETE_REFUSED', `Refusing to delete ${id}: ${refused} (SOP 4.2 best practice). Pass --force to delete it anyway.`, { id });
    }
    await repo.deleteManifest(id);
    ctx.logger.info({ event: 'delete', id, dependants }, `deleted ${id}`);
    report.deleted = true;
    if (opts.prune !== false) report.prune = await pruneLocked(ctx, repo, {});
    return report;
  } finally {
    await lock.release();
  }
}
