import type { PruneReport } from '../../app/index.js';
import { formatBytes, formatDateTime } from '../../core/format.js';

/** The prune part of `backup prune`, `cleanup`, `delete` and `pg expire`. */
export function renderPrune(p: PruneReport): string {
  const verb = p.dry_run ? 'Would free' : 'Freed';
  const lines = [
    `Prune${p.dry_run ? ' (dry run)' : ''}: ${p.packs} pack(s); ${p.unusedPacks.length} unused, ${p.repackPacks.length} to repack, ${p.orphanPacks.length} orphaned`,
    `  ${verb}: ${formatBytes(p.freedBytes)}; unused data kept in packs below the threshold: ${formatBytes(p.keptUnusedBytes)}`,
  ];
  const r = p.retention;
  if (r) {
    const when = r.retained_until_first
      ? `the first can go after ${formatDateTime(new Date(r.retained_until_first))}${r.retained_until_last && r.retained_until_last !== r.retained_until_first ? `, the last after ${formatDateTime(new Date(r.retained_until_last))}` : ''}`
      : 'legal hold';
    lines.push(
      r.retained > 0
        ? `  Object lock (${r.mode}, ${r.days} days): ${r.retained} object(s), ${formatBytes(r.retained_bytes)}, no longer needed but under retention (protection, not damage); ${when}; a later prune removes them`
        : `  Object lock (${r.mode}, ${r.days} days): nothing left under retention`,
      `  Retention ${p.dry_run ? 'to extend' : 'extended'}: ${r.extended} object(s) still needed${r.extended_until ? `, to ${formatDateTime(new Date(r.extended_until))}` : ''}`,
    );
  }
  return lines.join('\n');
}
