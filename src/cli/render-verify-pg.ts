import type { PgArchiveCheck } from '../app/index.js';

/** The PostgreSQL archive's lines of `backup verify --all`. */
export function renderPgArchiveCheck(p: PgArchiveCheck): string[] {
  const lines = [`PITR archive: ${p.wal_files} WAL file(s), ${p.base_backups} base backup(s): checksum: ${p.checksum}`];
  for (const d of p.damaged_records) lines.push(`  DAMAGED record ${d.name}: ${d.message}`);
  for (const d of p.damaged.slice(0, 50)) lines.push(`  damaged: ${d.record}: ${d.reason}`);
  if (p.damaged.length > 50) lines.push(`  … ${p.damaged.length - 50} more damaged records (--json lists all)`);
  return lines;
}
