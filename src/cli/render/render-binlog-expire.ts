import type { BinlogExpireReport } from '../../app/index.js';
import { formatBytes } from '../../core/format.js';

/** True when the repository has a binary log archive (or something to say about it). */
export function hasBinlogArchive(r: BinlogExpireReport): boolean {
  return r.databases.length > 0 || r.warnings.length > 0;
}

/** The binary log part of `backup cleanup` and `mysql expire`. */
export function renderBinlogExpire(r: BinlogExpireReport): string {
  const verb = r.dry_run ? 'would expire' : 'expired';
  const lines = [`Binary log archive (kept from the oldest kept backup's dump position on):`];
  for (const d of r.databases) {
    const gone = d.expired.length === 0 ? 'none' : `${d.expired.length} (${d.expired[0]} … ${d.expired.at(-1)}, ${formatBytes(d.expired_bytes)})`;
    lines.push(
      `  ${d.database}: ${verb} ${gone}; ${d.kept} kept${d.first_kept_file ? ` (from ${d.first_kept_file}, where ${d.oldest_kept_backup} starts)` : ''}`,
    );
  }
  for (const w of r.warnings) lines.push(`  Warning: ${w}`);
  return lines.join('\n');
}
