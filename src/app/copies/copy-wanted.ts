import type { CopyTarget } from '../../config/index.js';
import { isFutureDated } from '../../policy/future-dated.js';
import { applyRetentionByHost } from '../../policy/retention.js';
import type { Manifest } from '../../repo/index.js';

/** A backup's end (its start while it has none): what "newer" means between a primary and its copies. */
export const endOf = (m: Pick<Manifest, 'started_at' | 'finished_at'>): string => m.finished_at ?? m.started_at;

/**
 * The primary's backups the copy `target` is to hold: the completed and partial ones its own
 * retention (`keep`) keeps among the primary's, so that a copy kept shorter than the primary does
 * not take back what its cleanup removed. With the primary's retention (the default) that is
 * every backup the primary keeps.
 */
export function wantedInCopy(primary: readonly Manifest[], target: Pick<CopyTarget, 'keep'>, now: Date): Manifest[] {
  // failed attempts are never copied: how long they are kept does not matter here
  const kept = new Set(
    applyRetentionByHost(primary, { ...target.keep, failed_attempts_days: 0 }, now)
      .filter((d) => d.keep)
      .map((d) => d.id),
  );
  // one dated in the future is no genuine backup: it must not pass for the newest the copy is to hold
  return primary.filter((m) => kept.has(m.id) && (m.status === 'completed' || m.status === 'partial') && !isFutureDated(m, now));
}
