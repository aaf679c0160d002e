import type { PgExpireReport } from '../../app/index.js';
import { formatBytes } from '../../core/format.js';
import { table } from '../output.js';

/** True when the repository has a PITR archive (or something to say about it). */
export function hasPgArchive(r: PgExpireReport): boolean {
  return (
    r.base_backups.length > 0 || r.wal.kept + r.wal.expired.length > 0 || r.restore_points.kept + r.restore_points.expired.length > 0 || r.warnings.length > 0
  );
}

/** The PITR part of `backup cleanup` and `pg expire`. */
export function renderPgExpire(r: PgExpireReport): string {
  const would = r.dry_run;
  const removed = r.base_backups.filter((b) => !b.keep);
  const lines = [
    `PITR archive (base backups: newest ${r.policy.base_backups_count} and those younger than ${r.policy.base_backups_age_days} days): ${r.base_backups.length - removed.length} base backup(s) kept, ${removed.length} ${would ? 'would be removed' : 'removed'}`,
  ];
  if (removed.length > 0)
    lines.push(
      indent(
        table(
          [would ? 'WOULD REMOVE' : 'REMOVED', 'FINISHED', 'RULE'],
          removed.map((b) => [b.id, b.finished_at, b.reasons[0]!]),
        ),
      ),
    );
  const w = r.wal;
  const expired = w.expired.length === 0 ? 'none' : `${w.expired.length} (${w.expired[0]} … ${w.expired.at(-1)}, ${formatBytes(w.expired_bytes)})`;
  lines.push(
    `  WAL files ${would ? 'that would expire' : 'expired'}: ${expired}; ${w.kept} kept${w.first_kept_segment ? ` (from ${w.first_kept_segment}, where ${w.oldest_kept_base_backup} starts, and every .history file)` : ''}`,
  );
  const p = r.restore_points;
  if (p.kept + p.expired.length > 0) {
    lines.push(
      `  Restore points ${would ? 'that would expire' : 'expired'} (no kept base backup ended before them: recovery cannot reach them): ${p.expired.length === 0 ? 'none' : p.expired.length}; ${p.kept} kept`,
    );
    if (p.expired.length > 0)
      lines.push(
        indent(
          table(
            [would ? 'WOULD REMOVE' : 'REMOVED', 'LSN', 'TIMELINE', 'CREATED'],
            p.expired.map((x) => [x.name, x.lsn, String(x.timeline), x.created_at]),
          ),
        ),
      );
  }
  for (const warning of r.warnings) lines.push(`  Warning: ${warning}`);
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}
