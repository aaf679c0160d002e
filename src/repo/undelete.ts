import { retainingOf } from '../backend/retaining.js';
import type { Clock } from '../core/clock.js';
import { PrismError } from '../errors/index.js';
import { RepositoryLock } from './lock.js';
import { openBackend, type StoreOptions } from './open-backend.js';

export interface UndeleteReport {
  /** Objects that were hidden by delete markers and read again (in a dry run: would). */
  restored: string[];
  /** Delete markers removed (several may lie on one object). */
  markers: number;
}

/**
 * Removes the delete markers that hide objects of the repository at `location` (a bucket with
 * Object Lock, backup.object_lock): a DeleteObject without a version id, as anyone with the
 * bucket's credentials may send, only stacks a marker on the object, whose versions the bucket
 * keeps; without the markers the newest version reads again. Markers on locks are left (a lock
 * deleted so is gone as far as prism cares). Under the exclusive lock, taken on the store itself:
 * the repository's config.json may be among what is hidden.
 */
export async function undeleteObjects(
  location: string,
  store: StoreOptions,
  clock: Clock,
  opts: { dryRun?: boolean; lockWaitMs?: number; onLockWait?: Parameters<typeof RepositoryLock.acquire>[1]['onWait'] } = {},
): Promise<UndeleteReport> {
  const backend = await openBackend(location, process.env, store);
  const retaining = retainingOf(backend);
  if (!retaining) {
    throw new PrismError(
      'OBJECT_LOCK_UNAVAILABLE',
      `prism backup repair undelete works on a repository kept under object lock (backup.object_lock, an S3 bucket with Object Lock), and ${location} is not set up so.`,
      { location },
    );
  }
  const lock = await RepositoryLock.acquire(backend, {
    kind: 'exclusive',
    command: 'prism backup repair undelete',
    clock,
    waitMs: opts.lockWaitMs ?? 0,
    ...(opts.onLockWait ? { onWait: opts.onLockWait } : {}),
  });
  try {
    const report: UndeleteReport = { restored: [], markers: 0 };
    const versions = await retaining.listVersions('');
    // newest first per object: the markers above its newest version hide it
    for (let i = 0; i < versions.length;) {
      const name = versions[i]!.name;
      const markers: string[] = [];
      let j = i;
      for (; j < versions.length && versions[j]!.name === name && versions[j]!.deleteMarker; j++) markers.push(versions[j]!.versionId);
      const hasVersion = j < versions.length && versions[j]!.name === name;
      if (markers.length > 0 && hasVersion && !name.startsWith('locks/')) {
        if (!opts.dryRun) for (const m of markers) await retaining.deleteVersion(name, m);
        report.restored.push(name);
        report.markers += markers.length;
      }
      while (j < versions.length && versions[j]!.name === name) j++;
      i = j;
    }
    return report;
  } finally {
    await lock.release();
  }
}
