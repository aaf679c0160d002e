import type { Manifest, Repository } from '../../repo/index.js';
import { BLOB_TYPE, repositoryBytes } from '../../repo/index.js';
import { openRepository, type AppContext } from '../context.js';
import { failuresIn } from './failures.js';
import { loadAll, sharedManifestCache } from './list-backups.js';
import { copyStatuses, type CopyStatus } from '../copies/copy-status.js';

export interface BackupStats {
  repository: string;
  backups: { total: number; by_type: Record<string, number>; by_status: Record<string, number> };
  /** Sum of the original sizes of all usable (completed or partial) backups. */
  logical_bytes: number;
  /** Plaintext bytes of the unique chunks stored. */
  unique_bytes: number;
  /** Compressed bytes of those chunks in the packs. */
  packed_bytes: number;
  /** logical / unique: how many times deduplication shrinks the data. */
  dedup_ratio: number;
  /** 1 − packed / unique. */
  compression_ratio: number;
  repository_bytes: number;
  disk: { free: number; total: number; used_percent: number } | null;
  latest: { id: string; type: string; status: string; started_at: string } | null;
  /** Failed or partial attempts over the last 30 days, 0–1. */
  failure_rate_30d: number;
  /** Each copy of backup.copies: its newest backup and how far it is behind (a copy that cannot be read has its error). */
  copies: CopyStatus[];
}

export async function backupStats(ctx: AppContext, opts: { cached?: boolean } = {}): Promise<BackupStats> {
  const repo = await openRepository(ctx);
  const all = await loadAll(repo, ctx, undefined, opts.cached ? sharedManifestCache(ctx) : undefined);
  const data = await dataRatios(repo, all);
  const latest: Manifest | undefined = all[all.length - 1];
  return {
    repository: ctx.config.storagePath,
    backups: { total: all.length, by_type: countBy(all, (m) => m.type), by_status: countBy(all, (m) => m.status) },
    ...data,
    repository_bytes: await repositoryBytes(ctx.config.storagePath),
    disk: await diskUse(repo),
    latest: latest ? { id: latest.id, type: latest.type, status: latest.status, started_at: latest.started_at } : null,
    failure_rate_30d: failuresIn(all, 30, ctx.clock.now()).failure_rate,
    copies: ctx.config.copies.length > 0 ? await copyStatuses(ctx, all) : [],
  };
}

type DataRatios = Pick<BackupStats, 'logical_bytes' | 'unique_bytes' | 'packed_bytes' | 'dedup_ratio' | 'compression_ratio'>;

/** What deduplication and compression make of the backups `all` (oldest first, as loadAll gives them), from the repository's index. */
export async function dataRatios(repo: Repository, all: readonly Manifest[]): Promise<DataRatios> {
  const index = await repo.loadIndex();
  let unique = 0;
  let packed = 0;
  for (const b of index.entries()) {
    if (b.type !== BLOB_TYPE.data) continue;
    unique += b.blobLength;
    packed += b.frameRawLength === 0 ? 0 : (b.frameLength * b.blobLength) / b.frameRawLength;
  }
  let logical = 0;
  for (const m of all) if (m.status === 'completed' || m.status === 'partial') logical += m.stats.original_bytes;
  return {
    logical_bytes: logical,
    unique_bytes: unique,
    packed_bytes: Math.round(packed),
    dedup_ratio: unique > 0 ? logical / unique : 0,
    compression_ratio: unique > 0 ? 1 - packed / unique : 0,
  };
}

/** The repository disk's free and total bytes and its used percentage; null where there is no disk to measure (a remote store). */
export async function diskUse(repo: Repository): Promise<BackupStats['disk']> {
  const space = await repo.space();
  return space ? { ...space, used_percent: usedPercent(space) } : null;
}

/** The used percentage of a disk as `prism backup stats` shows it (free = space available to prism). */
export function usedPercent(space: { free: number; total: number }): number {
  return space.total > 0 ? ((space.total - space.free) / space.total) * 100 : 0;
}

function countBy(ms: Manifest[], key: (m: Manifest) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of ms) out[key(m)] = (out[key(m)] ?? 0) + 1;
  return out;
}
