import type { Manifest } from '../repo/index.js';

/** The newest completed backup (any type): the parent of the next incremental. */
export function latestCompleted(all: readonly Manifest[]): Manifest | undefined {
  for (let i = all.length - 1; i >= 0; i--) if (all[i]!.status === 'completed') return all[i];
  return undefined;
}

export function hasCompletedFull(all: readonly Manifest[]): boolean {
  return all.some((m) => m.type === 'full' && m.status === 'completed');
}
