import type { Manifest } from '../../repo/index.js';
import { dataRatios, diskUse } from '../backups/backup-stats.js';
import { loadAll, sharedManifestCache } from '../backups/list-backups.js';
import { openRepository, type AppContext } from '../context.js';
import { readDrills } from '../integrity/drill-history.js';

/** The disk-use levels the history chart draws (the storage alert's warning, error and critical levels). */
export const DISK_THRESHOLDS = [80, 90, 95] as const;

/** The dashboard's history charts: every backup over time, failures, disk use, ratios and drills. Sizes in bytes, times ISO 8601 UTC, oldest first. */
export interface History {
  backups: Array<{
    id: string;
    time: string;
    type: Manifest['type'];
    status: Manifest['status'];
    /** Original (plaintext) bytes of the backup's files. */
    size: number;
    /** Compressed bytes of the data it references. */
    stored_size: number;
    /** Bytes it added to the repository. */
    new_data: number;
    duration_seconds: number | null;
  }>;
  failures: Array<{ time: string; type: Manifest['type']; error_code: string | null }>;
  disk: { used_percent: number | null; thresholds: number[] };
  /** As `prism backup stats --json`: dedup_ratio and compression_ratio. */
  ratios: { dedup: number; compression: number };
  /** Drills of the primary repository. */
  drills: Array<{ time: string; rto_seconds: number; target_seconds: number; passed: boolean }>;
}

/**
 * The ratios and the disk use are `prism backup stats`'s (dataRatios, diskUse), without the rest of
 * the statistics: the size of the repository on disk alone would read every file of it.
 */
export async function backupHistory(ctx: AppContext, opts: { cached?: boolean } = {}): Promise<History> {
  const repo = await openRepository(ctx);
  const all = await loadAll(repo, ctx, undefined, opts.cached ? sharedManifestCache(ctx) : undefined);
  const [ratios, disk] = await Promise.all([dataRatios(repo, all), diskUse(repo)]);
  return {
    backups: all.map((m) => ({
      id: m.id,
      time: m.started_at,
      type: m.type,
      status: m.status,
      size: m.stats.original_bytes,
      stored_size: m.stats.stored_bytes,
      new_data: m.stats.new_bytes,
      duration_seconds: m.duration_ms === null ? null : m.duration_ms / 1000,
    })),
    failures: all
      .filter((m) => m.status === 'failed' || m.status === 'partial')
      .map((m) => ({ time: m.started_at, type: m.type, error_code: m.error?.code ?? null })),
    disk: { used_percent: disk?.used_percent ?? null, thresholds: [...DISK_THRESHOLDS] },
    ratios: { dedup: ratios.dedup_ratio, compression: ratios.compression_ratio },
    drills: readDrills(ctx.config.home)
      .filter((d) => d.repository === undefined)
      .map((d) => ({ time: d.time, rto_seconds: d.rto_seconds, target_seconds: d.target_seconds, passed: d.status === 'passed' && d.within_target })),
  };
}
