import { FrameCompressor } from '../../codec/compress.js';
import { rebuildIndex, type IndexRebuild } from '../../repo/index.js';
import { checkRepository } from '../../snapshot/checker.js';
import { scanArchives } from './archive-objects.js';
import { checkableBackups, type DamagedManifest } from './checkable-backups.js';
import { lockRepository, openRepository, type AppContext } from '../context.js';
import { compressionSettings } from '../backups/create-backup.js';
import { markCorrupted } from './mark-corrupted.js';
import { recordTask, type TaskTrigger } from '../monitoring/task-log.js';

export interface RepairIndexOptions {
  /** How long to wait for other prism processes (the repair holds the repository exclusively). */
  lockWaitMs?: number;
  signal?: AbortSignal;
  trigger?: TaskTrigger;
}

export interface RepairIndexReport extends IndexRebuild {
  /** Nothing a backup or an archive record needs was lost. */
  ok: boolean;
  /** Backups that need data the new index lacks: marked corrupted (or already were). */
  corrupted: Array<{ id: string; damaged: string[] }>;
  /** Point-in-time archive records (pg/, mysql/) whose data the new index lacks. */
  damaged_records: Array<{ name: string; reason: string }>;
  /** Manifests that cannot be read (not a matter of the index). */
  damaged_manifests: DamagedManifest[];
}

const COMMAND = 'prism backup repair index';

/**
 * `prism backup repair index`: under the exclusive lock, rebuilds the index from the packs (see
 * rebuildIndex), then checks every backup and archive record against it (trees read, every chunk
 * indexed) and marks the backups that lost data corrupted. Anything lost is no longer indexed, so
 * the next backup stores it afresh from the live files.
 */
export async function repairIndex(ctx: AppContext, opts: RepairIndexOptions = {}): Promise<RepairIndexReport> {
  const started = ctx.clock.now().toISOString();
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'exclusive', COMMAND, opts.lockWaitMs ?? 0);
  try {
    const rebuilt = await rebuildIndex(repo, new FrameCompressor(compressionSettings(ctx)), opts.signal);
    ctx.logger.info(
      {
        event: 'repair.index',
        blobs: rebuilt.blobs,
        damaged_packs: rebuilt.damaged_packs.length,
        damaged_index_files: rebuilt.damaged_index_files.length,
        lost_blobs: rebuilt.lost_blobs,
      },
      'index rebuilt',
    );
    const fresh = await openRepository(ctx);
    const damagedManifests: DamagedManifest[] = [];
    const manifests = await checkableBackups(fresh, damagedManifests);
    const archives = await scanArchives(fresh);
    const check = await checkRepository({ repo: fresh, manifests, data: { kind: 'none' }, objects: archives.objects });
    const report: RepairIndexReport = { ...rebuilt, ok: true, corrupted: [], damaged_records: [], damaged_manifests: damagedManifests };
    for (const [i, b] of check.backups.entries()) {
      if (b.ok) continue;
      const m = manifests[i]!;
      if (m.status !== 'corrupted') await markCorrupted(ctx, fresh, m, b, { source: 'repair-index' });
      report.corrupted.push({ id: b.id, damaged: b.damaged });
    }
    for (const o of check.objects) if (!o.ok) report.damaged_records.push({ name: o.name, reason: o.reason ?? 'damaged' });
    report.ok = report.corrupted.length === 0 && report.damaged_records.length === 0;
    recordTask(ctx.config.home, {
      job: 'repair',
      trigger: opts.trigger ?? 'manual',
      started_at: started,
      finished_at: ctx.clock.now().toISOString(),
      status: report.ok ? 'ok' : 'failed',
      ...(report.ok ? {} : { error_code: 'ERR_BACKUP_005' }),
      message: `index rebuilt from ${rebuilt.packs_read} pack(s): ${rebuilt.blobs} blob(s) indexed, ${rebuilt.lost_blobs} lost, ${report.corrupted.length} backup(s) corrupted`,
      details: {
        action: 'index',
        damaged_index_files: rebuilt.damaged_index_files.length,
        damaged_packs: rebuilt.damaged_packs.length,
        lost_blobs: rebuilt.lost_blobs,
        packs_written: rebuilt.packs_written,
        backups: report.corrupted.map((x) => x.id),
      },
    });
    return report;
  } finally {
    await lock.release();
  }
}
