import { isFutureDated } from '../../policy/future-dated.js';
import { PrismError } from '../../errors/index.js';
import type { Manifest, Repository } from '../../repo/index.js';

/**
 * The newest completed backup of `all` (oldest first; any type): the parent of the next incremental, passing over any dated after `now`: a
 * manifest injected with a future date must not become the parent of the next incremental (its
 * tree would stand in for the unchanged files) nor the backup a drill or health check looks at.
 */
export function latestCompleted(all: readonly Manifest[], now: Date): Manifest | undefined {
  for (let i = all.length - 1; i >= 0; i--) if (all[i]!.status === 'completed' && !isFutureDated(all[i]!, now)) return all[i];
  return undefined;
}

export function hasCompletedFull(all: readonly Manifest[]): boolean {
  return all.some((m) => m.type === 'full' && m.status === 'completed');
}

/**
 * Every readable manifest; a manifest that cannot be read would lose its data to the prune that
 * follows (and its database positions to an expiry), so `what` stops before changing anything.
 */
export async function refuseDamaged(repo: Repository, what: string): Promise<Manifest[]> {
  const damaged: string[] = [];
  const all = await repo.listManifests((name) => damaged.push(name));
  if (damaged.length > 0) {
    throw new PrismError(
      'REPO_CORRUPT',
      `${what} stopped before changing anything: manifest(s) ${damaged.join(', ')} cannot be read, and the prune that follows would remove their data. Repair or delete them first.`,
      { damaged },
    );
  }
  return all;
}
