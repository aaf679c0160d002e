/**
 * What a bucket with versions (every bucket with Object Lock) needs beyond one PutObject per
 * write: the versions of one key, which of them a conditional create made first, and whether a
 * refused delete of a version was the retention's doing or the credentials'.
 *
 * - A DeleteObject without a version id deletes nothing there: it adds a delete marker, under
 *   which the object looks gone while its bytes stay. So prism deletes the versions themselves,
 *   by id, oldest first: a version still under retention stops it, and the versions newer than
 *   it (the object as prism reads it) stay whole.
 * - Ceph RGW before 19 lets `If-None-Match: *` pass on such a bucket and stores a second
 *   version. So after a conditional create the versions since the last delete marker are listed:
 *   the oldest of them was created first and won; a later one is removed again by its id.
 */
import type { ObjectVersion } from '../backend.js';

/** A version (or delete marker) as ListObjectVersions lists it. */
export interface ListedVersion {
  Key?: string;
  VersionId?: string;
  IsLatest?: boolean;
  LastModified?: Date;
  Size?: number;
}

/** One page of ListObjectVersions, as prism reads it. */
export interface VersionPage {
  Versions?: ListedVersion[];
  DeleteMarkers?: ListedVersion[];
  IsTruncated?: boolean;
  NextKeyMarker?: string;
  NextVersionIdMarker?: string;
}

/** The versions and delete markers of one page, as objects of `root` (the repository's prefix with its slash). */
export function versionsOf(page: VersionPage, root: string): ObjectVersion[] {
  const out: ObjectVersion[] = [];
  const add = (v: ListedVersion, deleteMarker: boolean): void => {
    if (v.Key === undefined || v.VersionId === undefined || v.Key.endsWith('/')) return;
    out.push({
      name: v.Key.slice(root.length),
      versionId: v.VersionId,
      latest: v.IsLatest ?? false,
      deleteMarker,
      size: deleteMarker ? 0 : (v.Size ?? 0),
      modified: v.LastModified ?? new Date(0),
    });
  };
  for (const v of page.Versions ?? []) add(v, false);
  for (const m of page.DeleteMarkers ?? []) add(m, true);
  return out;
}

/** By name, then newest first (the latest before the others when two share a time). */
export function byNameNewestFirst(a: ObjectVersion, b: ObjectVersion): number {
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  if (a.latest !== b.latest) return a.latest ? -1 : 1;
  return b.modified.getTime() - a.modified.getTime();
}

/**
 * Whether `versionId` is the version a conditional create should have made: the oldest of the
 * versions newer than the newest delete marker (`versions` of one key, newest first).
 */
export function createdFirst(versions: readonly ObjectVersion[], versionId: string): boolean {
  let first: ObjectVersion | undefined;
  for (const v of versions) {
    if (v.deleteMarker) break;
    first = v;
  }
  return first?.versionId === versionId;
}

/** A HeadObject answer about one version's retention. */
export interface VersionLock {
  ObjectLockRetainUntilDate?: Date;
  ObjectLockLegalHoldStatus?: string;
}

/** Whether a version is held now (retention not yet passed, or a legal hold), and until when. */
export function heldBy(lock: VersionLock, now: Date): { held: boolean; until: Date | undefined } {
  const until = lock.ObjectLockRetainUntilDate;
  const hold = lock.ObjectLockLegalHoldStatus === 'ON';
  return { held: hold || (until !== undefined && until.getTime() > now.getTime()), until: hold ? undefined : until };
}
