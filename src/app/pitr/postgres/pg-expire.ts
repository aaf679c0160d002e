import { planPitrExpiry, type PitrBaseDecision } from '../../../policy/pitr-retention.js';
import type { Repository } from '../../../repo/index.js';
import { isRetained } from '../../../errors/index.js';
import type { AppContext } from '../../context.js';
import { parseLsn } from '../../../source/postgres/pg-wal-name.js';
import {
  deleteBaseRecord,
  deleteRestorePointRecord,
  deleteWalRecord,
  listBaseRecords,
  listRestorePointRecords,
  listWalRecords,
  type BaseRecord,
  type PgRecordNames,
  type RestorePointRecord,
} from './pg-records.js';
import { expireAndPrune, type ExpireOptions, type PruneReport } from '../../maintenance/prune-repository.js';

export interface PgExpireReport {
  dry_run: boolean;
  policy: { base_backups_count: number; base_backups_age_days: number };
  /** Every base backup, newest first, with the rule that decided it. */
  base_backups: Array<PitrBaseDecision & { finished_at: string; start_wal: string }>;
  /** Base backups removed (in a dry run: that would be). */
  removed_base_backups: string[];
  wal: {
    /** The oldest kept base backup and its start segment: WAL before it expires. */
    oldest_kept_base_backup: string | null;
    first_kept_segment: string | null;
    kept: number;
    /** WAL files removed (in a dry run: that would be), in name order. */
    expired: string[];
    /** Their size as archived (before deduplication and compression). */
    expired_bytes: number;
  };
  restore_points: {
    /** Restore points a kept base backup ended at or before: recovery can still reach them. */
    kept: number;
    /** Restore points no kept base backup (of their cluster) ended at or before, removed (in a dry run: that would be), oldest first. */
    expired: Array<Omit<RestorePointRecord, 'format' | 'system_identifier'>>;
  };
  warnings: string[];
}

export interface PgExpiry {
  report: PgExpireReport;
  /** The records the expiry removes (restore points have no data: they are not part of a prune's plan). */
  gone: PgRecordNames;
  restorePoints: RestorePointRecord[];
}

/**
 * The restore points recovery can no longer reach once `kept` are the base backups: those no
 * kept base backup of their cluster ended at or before (LSNs only grow along a line of
 * timelines, so recovery from a later one cannot go back to them). Nothing expires when no base
 * backup is kept (the WAL does not expire either); a point whose LSN does not parse is kept.
 */
export function expiredRestorePoints(points: RestorePointRecord[], kept: BaseRecord[], warnings: string[]): RestorePointRecord[] {
  if (kept.length === 0) return [];
  const lsn = (text: string): bigint | undefined => {
    try {
      return parseLsn(text);
    } catch {
      return undefined;
    }
  };
  return points.filter((p) => {
    const at = lsn(p.lsn);
    if (at === undefined) {
      warnings.push(`Restore point ${p.name} records "${p.lsn}", which is not a WAL location: it is kept.`);
      return false;
    }
    return !kept.some((b) => b.server.system_identifier === p.system_identifier && (lsn(b.stop_lsn) ?? 0n) <= at);
  });
}

/** The PITR retention (backup.retention_policy.pg_base_backups_*) applied to the archive's records; changes nothing. */
export async function planPgExpiry(ctx: AppContext, repo: Repository, dryRun: boolean): Promise<PgExpiry> {
  const r = ctx.config.backup.retention_policy;
  const policy = { base_backups_count: r.pg_base_backups_count, base_backups_age_days: r.pg_base_backups_age_days };
  const bases = await listBaseRecords(repo);
  const wal = await listWalRecords(repo);
  const plan = planPitrExpiry(
    bases,
    wal.map((w) => w.name),
    policy,
    ctx.clock.now(),
  );
  const byId = new Map(bases.map((b) => [b.id, b]));
  const expired = new Set(plan.expire_wal);
  const removed = plan.base_backups.filter((d) => !d.keep).map((d) => d.id);
  // a damaged restore point record holds no data a prune could lose: it is named and left alone
  const warnings = [...plan.warnings];
  const points = await listRestorePointRecords(repo, (name, e) =>
    warnings.push(`Restore point record ${name} cannot be read (${e.message}): it is left as it is; delete it if it is of no use.`),
  );
  const goneRemoved = new Set(removed);
  const goingPoints = plan.oldest_kept
    ? expiredRestorePoints(
        points,
        bases.filter((b) => !goneRemoved.has(b.id)),
        warnings,
      )
    : [];
  return {
    report: {
      dry_run: dryRun,
      policy,
      base_backups: plan.base_backups.map((d) => ({ ...d, finished_at: byId.get(d.id)!.finished_at, start_wal: byId.get(d.id)!.start_wal })),
      removed_base_backups: removed,
      wal: {
        oldest_kept_base_backup: plan.oldest_kept?.id ?? null,
        first_kept_segment: plan.oldest_kept?.start_wal ?? null,
        kept: plan.keep_wal,
        expired: plan.expire_wal,
        expired_bytes: wal.filter((w) => expired.has(w.name)).reduce((n, w) => n + w.size, 0),
      },
      restore_points: {
        kept: points.length - goingPoints.length,
        expired: goingPoints.map(({ name, lsn, timeline, created_at }) => ({ name, lsn, timeline, created_at })),
      },
      warnings,
    },
    gone: { wal: expired, base: goneRemoved },
    restorePoints: goingPoints,
  };
}

/**
 * Removes the records of an expiry; the caller holds the exclusive lock. Base backups go first:
 * killed half-way, what is left is a base backup with all its WAL, or WAL no base backup needs
 * (the next run removes it), never a base backup whose WAL is gone. The data goes with prune.
 */
export async function applyPgExpiry(ctx: AppContext, repo: Repository, e: PgExpiry): Promise<void> {
  let retained = 0;
  for (const id of e.report.removed_base_backups) {
    await deleteBaseRecord(repo, id).catch((err: unknown) => {
      if (!isRetained(err)) throw err;
      retained++;
    });
  }
  // a base backup kept by its retention (object lock) keeps all the WAL after it: no WAL goes this time
  if (retained > 0) {
    ctx.logger.warn(
      { event: 'pg.expire.retained', base_backups: retained },
      `${retained} expired base backup(s) are still under retention: WAL expiry waits for them`,
    );
    return;
  }
  for (const name of e.report.wal.expired) await deleteWalRecord(repo, name);
  // after the base backups: killed before, a point stays that a later run removes, never the reverse
  let pointsRetained = 0;
  for (const p of e.restorePoints) {
    await deleteRestorePointRecord(repo, p).catch((err: unknown) => {
      if (!isRetained(err)) throw err;
      pointsRetained++;
    });
  }
  const points = e.restorePoints.length - pointsRetained;
  if (e.report.removed_base_backups.length + e.report.wal.expired.length + points > 0) {
    ctx.logger.info(
      {
        event: 'pg.expire',
        base_backups: e.report.removed_base_backups,
        wal_files: e.report.wal.expired.length,
        first_kept_segment: e.report.wal.first_kept_segment,
        restore_points: e.restorePoints.map((p) => p.name),
      },
      `expired ${e.report.removed_base_backups.length} base backup(s), ${e.report.wal.expired.length} WAL file(s) and ${points} restore point(s)`,
    );
  }
  for (const w of e.report.warnings) ctx.logger.warn({ event: 'pg.expire.warning', warning: w }, w);
}

/** `prism pg expire`: the PITR retention under the exclusive lock, then (unless `prune: false`) prune. */
export function expirePgArchive(ctx: AppContext, opts: ExpireOptions = {}): Promise<PgExpireReport & { prune: PruneReport | null }> {
  return expireAndPrune(ctx, 'prism pg expire', opts, {
    plan: (repo, dryRun) => planPgExpiry(ctx, repo, dryRun),
    apply: (repo, e) => applyPgExpiry(ctx, repo, e),
    gone: (e) => ({ pgGone: e.gone }),
  });
}
