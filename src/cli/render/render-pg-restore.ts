import type { PgRestoreReport } from '../../app/pitr/postgres/pg-restore.js';

/** What `prism pg restore` prepared, and how to start it. */
export function renderPgRestore(r: PgRestoreReport): string {
  const lines: string[] = [];
  const t = r.target;
  lines.push(`Restored base backup ${r.base_backup} (timeline ${r.base_timeline}, finished ${r.base_finished_at}) into ${r.data_dir}`);
  if (r.type === 'standby')
    lines.push(`  Standby of ${r.primary}: standby.signal, primary_conninfo; it catches up from the archive and streams from the primary`);
  else if (t.kind === 'end') lines.push('  Recovery target: the end of the archive, then promote');
  else if (t.kind === 'immediate') lines.push(`  Recovery target: the moment the base backup is consistent, then ${t.action}`);
  else lines.push(`  Recovery target: ${t.kind === 'time' ? 'time' : t.kind} ${t.value}${t.exclusive ? ' (exclusive: just before it)' : ''}, then ${t.action}`);
  lines.push(`  Timeline ${r.timeline}: ${r.timeline_reason} (recovery_target_timeline = '${r.recovery_target_timeline}')`);
  lines.push(`  ${r.wal_files} WAL file(s) of that line in the archive from the base backup on (last ${r.last_wal ?? '-'})`);
  lines.push(
    r.archive_mode === 'off'
      ? '  archive_mode = off: the restored cluster archives nothing into the repository (--archive-mode preserve keeps the original archive_command; remove the line from postgresql.auto.conf when this becomes the production cluster)'
      : "  archive_mode and archive_command: the original's (preserve): once promoted it archives its new timeline into the repository",
  );
  lines.push(`  restore_command = '${r.restore_command}'`);
  if (r.recovery_end_command) lines.push(`  recovery_end_command = '${r.recovery_end_command}' (empties the spool of WAL fetched ahead)`);
  for (const w of r.warnings) lines.push(`  Warning: ${w}`);
  lines.push(`Start it: pg_ctl -D ${r.data_dir} start (as the cluster's OS user; check the port in postgresql.conf)`);
  return lines.join('\n');
}
