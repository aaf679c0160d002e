import { FrameCompressor } from '../../codec/compress.js';
import { PrismError } from '../../errors/index.js';
import { rootTrees, type Manifest, type Repository } from '../../repo/index.js';
import { ObjectRetention, type RetentionReport } from '../../repo/object-retention.js';
import { executePrune, planPrune, type PrunePlan, type PruneResult } from '../../repo/pruner.js';
import { walkTree } from '../../snapshot/tree-walk.js';
import { lockRepository, openRepository, type AppContext } from '../context.js';
import { binlogArchiveBlobs } from '../pitr/mysql/mysql-binlog-records.js';
import { physicalBaseBlobs } from '../pitr/mysql/mysql-physical-records.js';
import { pgArchiveBlobs, type PgRecordNames } from '../pitr/postgres/pg-records.js';

export interface PruneOptions {
  dryRun?: boolean;
  /** Unused data the repository may keep, as a share of its used data (default 5 %, as restic's --max-unused). */
  maxUnused?: number;
}

export type PruneReport = (PrunePlan | PruneResult) & {
  dry_run: boolean;
  referenced_blobs: number;
  /** Under object lock (backup.object_lock): what is left for its retention, and the retention extended; null without. */
  retention: RetentionReport | null;
};

/**
 * Every blob (trees and chunks) the given backups reference, plus everything the PostgreSQL WAL
 * archive and base backups, the MySQL/MariaDB binary log archive and physical base backups (but the records in `gone`)
 * reference: what prune must keep.
 */
export async function referencedBlobs(
  repo: Repository,
  manifests: readonly Manifest[],
  gone: Pick<PruneAsIf, 'pgGone' | 'binlogGone' | 'mysqlBaseGone'> = {},
): Promise<Set<string>> {
  const out = await pgArchiveBlobs(repo, gone.pgGone);
  for (const id of await binlogArchiveBlobs(repo, gone.binlogGone)) out.add(id);
  for (const id of await physicalBaseBlobs(repo, gone.mysqlBaseGone)) out.add(id);
  // a tree already seen (the same directory in another backup) is not read again: memory and
  // time grow with the distinct data, not with the number of backups
  const visit = async (tree: string): Promise<void> => {
    if (out.has(tree)) return;
    out.add(tree);
    for await (const { node } of walkTree(repo, tree, '', { recursive: false })) {
      if (node.subtree) await visit(node.subtree);
      for (const c of node.content ?? []) out.add(c);
    }
  };
  for (const m of manifests) for (const t of rootTrees(m)) await visit(t);
  return out;
}

/** What a dry run plans the prune for instead of the repository as it is. */
export interface PruneAsIf {
  /** The backups that count (a cleanup dry run passes the ones it would keep). */
  manifests?: readonly Manifest[];
  /** PostgreSQL archive records that no longer count (the ones an expiry would remove). */
  pgGone?: PgRecordNames;
  /** Binary log archive records that no longer count (`<database>/<file>`, see binlogKey). */
  binlogGone?: ReadonlySet<string>;
  /** MariaDB physical base backups (ids) that no longer count. */
  mysqlBaseGone?: ReadonlySet<string>;
}

export interface ExpireOptions {
  dryRun?: boolean;
  /** false: remove the records only; their data goes with a later prune. */
  prune?: boolean;
  lockWaitMs?: number;
}

/**
 * An archive expiry (`pg expire`, `mysql expire`) under the exclusive lock: plans it, applies it
 * unless a dry run, then prunes (a dry run plans the prune as if the records were gone).
 */
export async function expireAndPrune<E extends { report: object }>(
  ctx: AppContext,
  command: string,
  opts: ExpireOptions,
  steps: { plan: (repo: Repository, dryRun: boolean) => Promise<E>; apply: (repo: Repository, e: E) => Promise<void>; gone: (e: E) => PruneAsIf },
): Promise<E['report'] & { prune: PruneReport | null }> {
  const dryRun = opts.dryRun ?? false;
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'exclusive', command, opts.lockWaitMs ?? 0);
  try {
    const expiry = await steps.plan(repo, dryRun);
    if (!dryRun) await steps.apply(repo, expiry);
    const prune = opts.prune === false ? null : await pruneLocked(ctx, repo, { dryRun }, dryRun ? steps.gone(expiry) : {});
    return { ...expiry.report, prune };
  } finally {
    await lock.release();
  }
}

/**
 * Removes data no backup and no PostgreSQL archive record references; the caller holds the
 * exclusive lock. `asIf` plans it as if some records were gone (dry runs).
 */
export async function pruneLocked(ctx: AppContext, repo: Repository, opts: PruneOptions, asIf: PruneAsIf = {}): Promise<PruneReport> {
  await repo.loadIndex();
  // damaged manifests are skipped by listManifests, so their data would go: refuse instead
  const damaged: string[] = [];
  const manifests = asIf.manifests ?? (await repo.listManifests((name) => damaged.push(name)));
  if (damaged.length > 0) {
    throw new PrismError(
      'REPO_CORRUPT',
      `Prune stopped: manifest(s) ${damaged.join(', ')} cannot be read, and their data would be removed. Repair or delete them first.`,
      { damaged },
    );
  }
  const referenced = await referencedBlobs(repo, manifests, asIf);
  // under object lock: the retain-until dates, and a stop if someone hid objects behind delete markers
  const retention = await ObjectRetention.open(repo, ctx.clock.now());
  const plan = await planPrune(repo, referenced, opts.maxUnused ?? 0.05, retention);
  ctx.logger.info(
    {
      event: 'prune.plan',
      unused_packs: plan.unusedPacks.length,
      repack_packs: plan.repackPacks.length,
      orphan_packs: plan.orphanPacks.length,
      retained_packs: plan.retainedPacks.length,
      freed_bytes: plan.freedBytes,
      dry_run: Boolean(opts.dryRun),
    },
    'prune plan',
  );
  if (opts.dryRun) {
    if (retention) for (const path of plan.retainedPacks) await retention.keep(path);
    await retention?.extendLive(true);
    await retention?.removeOldVersions(true);
    return { ...plan, dry_run: true, referenced_blobs: referenced.size, retention: retention?.report() ?? null };
  }
  const c = ctx.config.backup.compression;
  const result = await executePrune(
    repo,
    referenced,
    plan,
    new FrameCompressor({ enabled: c.enabled, algorithm: c.algorithm, level: c.level ?? 3 }),
    retention,
  );
  if (retention) {
    // what is still needed stays locked: its retention is extended before half of it is left
    await retention.extendLive(false);
    await retention.removeOldVersions(false);
    await retention.save();
    const r = retention.report();
    ctx.logger.info({ event: 'prune.retention', ...r }, 'object lock: retention kept');
  }
  ctx.logger.info({ event: 'prune.done', freed_bytes: result.freedBytes, new_packs: result.newPacks }, 'prune done');
  return { ...result, dry_run: false, referenced_blobs: referenced.size, retention: retention?.report() ?? null };
}
