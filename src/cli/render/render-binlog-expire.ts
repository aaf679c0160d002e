import type { BinlogExpireReport, MysqlExpireReport } from '../../app/index.js';
import { formatBytes } from '../../core/format.js';

/** True when the repository has a binary log archive (or something to say about it). */
export function hasBinlogArchive(r: BinlogExpireReport): boolean {
  return r.databases.length > 0 || r.warnings.length > 0;
}

/** The physical base backup part of `backup cleanup` and `mysql expire`: what the retention keeps and removes; empty without base backups. */
export function renderMysqlBaseExpire(r: MysqlExpireReport): string {
  if (r.base_backups.length === 0) return '';
  const p = r.policy;
  const rule =
    p.from === 'config'
      ? `newest ${p.base_backups_count} of each server and those younger than ${p.base_backups_age_days} days`
      : `newest ${p.base_backups_count} of each server`;
  const removed = r.base_backups.filter((b) => !b.keep).length;
  const lines = [`Physical base backups (${rule}): ${r.base_backups.length - removed} kept, ${removed} ${r.dry_run ? 'would be removed' : 'removed'}`];
  for (const b of r.base_backups)
    lines.push(
      `  ${b.id}  ${b.database ?? '-'}  ${formatBytes(b.size)}  ${b.finished_at}  ${b.keep ? 'keep' : r.dry_run ? 'would remove' : 'removed'} (${b.reasons[0]})`,
    );
  return lines.join('\n');
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
