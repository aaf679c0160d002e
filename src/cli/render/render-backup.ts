import { formatBytes, formatCount, formatDateTime, formatDuration, formatPercent } from '../../core/format.js';
import type { Manifest } from '../../app/index.js';

export function compressionOf(m: Manifest): number {
  return m.stats.original_bytes > 0 ? 1 - m.stats.stored_bytes / m.stats.original_bytes : 0;
}

/** The SOP's `backup info` fields, then prism's own. */
export function renderInfo(m: Manifest): string {
  const lines = [
    `ID: ${m.id}`,
    `Type: ${m.type}`,
    `Status: ${m.status}`,
    `Created: ${formatDateTime(new Date(m.started_at))}`,
    `Size: ${formatBytes(m.stats.stored_bytes)} (original: ${formatBytes(m.stats.original_bytes)})`,
    `Compression: ${formatPercent(compressionOf(m))}`,
    `Checksum: ${m.checksum ? m.checksum.replace(/^sha256:/, '') : '-'}`,
    `Files: ${formatCount(m.stats.files)}`,
    `Parent: ${m.parent ?? '-'}`,
    `Comment: ${m.comment ?? '-'}`,
    `Trigger: ${m.trigger}`,
    `Duration: ${m.duration_ms === null ? '-' : formatDuration(m.duration_ms)}`,
    `New data: ${formatBytes(m.stats.new_bytes)} in ${formatCount(m.stats.new_blobs)} chunks (read ${formatCount(m.stats.files_read)} files, ${formatBytes(m.stats.bytes_read)})`,
    `Host: ${m.host}`,
    `Sources: ${m.sources.join(', ')} (in ${m.home})`,
  ];
  lines.push(...renderDatabases(m));
  if (m.error) lines.push(`Error: [${m.error.code}] ${m.error.message}`);
  for (const w of m.warnings.slice(0, 20)) lines.push(`Warning: ${w.path}: ${w.message}`);
  if (m.warnings.length > 20) lines.push(`Warning: … ${m.warnings.length - 20} more (see --json)`);
  return lines.join('\n');
}

/** The end-of-backup summary. */
export function renderCreated(m: Manifest): string {
  const head = m.status === 'completed' ? 'Backup completed' : m.status === 'partial' ? 'Backup PARTIAL' : `Backup ${m.status}`;
  const lines = [
    `${head}: ${m.id}`,
    `  Type:         ${m.type} (${m.trigger})${m.parent ? `, parent ${m.parent}` : ''}`,
    `  Files:        ${formatCount(m.stats.files)} (${formatCount(m.stats.files_read)} read, ${formatCount(m.stats.files - m.stats.files_read)} unchanged)`,
    `  Original:     ${formatBytes(m.stats.original_bytes)}`,
    `  Stored:       ${formatBytes(m.stats.stored_bytes)}`,
    `  Compression:  ${formatPercent(compressionOf(m))}`,
    `  New data:     ${formatBytes(m.stats.new_bytes)} (${formatCount(m.stats.new_blobs)} new chunks)`,
    `  Duration:     ${m.duration_ms === null ? '-' : formatDuration(m.duration_ms)}`,
    `  Checksum:     ${m.checksum ?? '-'}`,
  ];
  for (const d of m.databases ?? []) {
    lines.push(
      `  Database:     ${d.name} (${d.type}): ${formatCount(d.tables.length)} tables, ${formatCount(d.tables.reduce((n, t) => n + t.rows, 0))} rows, ${formatBytes(d.bytes)} (${formatBytes(d.new_bytes)} new)`,
    );
  }
  if (m.error) lines.push(`  Error:        [${m.error.code}] ${m.error.message}`);
  return lines.join('\n');
}

/** `Databases:` lines of `backup info` and `db list`: each database, then its tables with rows and its sequences' values. */
export function renderDatabases(m: Manifest): string[] {
  const lines: string[] = [];
  if (!m.databases || m.databases.length === 0) return lines;
  lines.push('Databases:');
  for (const d of m.databases) {
    const binlog = d.binlog ? `, binlog ${d.binlog.file}:${d.binlog.position}${d.binlog.gtid ? ` (GTID ${d.binlog.gtid})` : ''}` : '';
    lines.push(
      `  ${d.name} (${d.type}, ${d.url}, server ${d.server_version}${binlog}): ${formatCount(d.tables.length)} tables, ${formatBytes(d.bytes)}, dumped in ${formatDuration(d.duration_ms)}`,
    );
    const width = Math.max(5, ...d.tables.map((t) => t.name.length));
    for (const t of d.tables)
      lines.push(`    ${t.name.padEnd(width)}  ${formatCount(t.rows).padStart(12)} rows  ${formatBytes(t.bytes).padStart(10)}  ${tableChecksum(t)}`);
    // the value a restore sets; is_called false: nextval() gives the value itself (a sequence not used yet)
    for (const s of d.sequences ?? [])
      lines.push(`    sequence ${s.name} = ${s.value}${s.is_called ? '' : ' (next value)'}${s.table ? `, owned by ${s.table}` : ''}`);
  }
  return lines;
}

/** A table's checksum as `backup info` shows it: over its chunk ids, or (older backups) over its data. */
function tableChecksum(t: { chunks_sha256?: string | undefined; sha256?: string | undefined }): string {
  if (t.chunks_sha256 !== undefined) return `chunks-sha256:${t.chunks_sha256.slice(0, 16)}`;
  return t.sha256 !== undefined ? `sha256:${t.sha256.slice(0, 16)}` : '';
}
