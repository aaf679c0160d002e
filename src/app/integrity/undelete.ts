import { undeleteObjects, type UndeleteReport } from '../../repo/index.js';
import { storeOptions, type AppContext } from '../context.js';

/**
 * `prism backup repair undelete`: brings back what delete markers hide in a repository under
 * object lock (someone deleted objects with the bucket's credentials; the bucket kept their
 * versions). Prune and cleanup refuse to run while objects are hidden (OBJECTS_HIDDEN).
 */
export async function undeleteRepository(
  ctx: AppContext,
  opts: { dryRun?: boolean; lockWaitMs?: number } = {},
): Promise<UndeleteReport & { dry_run: boolean }> {
  const report = await undeleteObjects(ctx.config.storagePath, storeOptions(ctx), ctx.clock, {
    dryRun: opts.dryRun ?? false,
    lockWaitMs: opts.lockWaitMs ?? 0,
    ...(ctx.onLockWait ? { onLockWait: ctx.onLockWait } : {}),
  });
  if (!opts.dryRun && report.restored.length > 0) {
    ctx.logger.warn(
      { event: 'repair.undelete', restored: report.restored.length, markers: report.markers },
      `removed ${report.markers} delete marker(s): ${report.restored.length} object(s) of the repository read again`,
    );
  }
  return { ...report, dry_run: opts.dryRun ?? false };
}
