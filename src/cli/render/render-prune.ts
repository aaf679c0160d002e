import type { PruneReport } from '../../app/index.js';
import { formatBytes } from '../../core/format.js';

/** The prune part of `backup prune`, `cleanup`, `delete` and `pg expire`. */
export function renderPrune(p: PruneReport): string {
  const verb = p.dry_run ? 'Would free' : 'Freed';
  return [
    `Prune${p.dry_run ? ' (dry run)' : ''}: ${p.packs} pack(s); ${p.unusedPacks.length} unused, ${p.repackPacks.length} to repack, ${p.orphanPacks.length} orphaned`,
    `  ${verb}: ${formatBytes(p.freedBytes)}; unused data kept in packs below the threshold: ${formatBytes(p.keptUnusedBytes)}`,
  ].join('\n');
}
