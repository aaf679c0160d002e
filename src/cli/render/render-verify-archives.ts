import type { BinlogArchiveCheck, PgArchiveCheck } from '../../app/index.js';

/** The PostgreSQL archive's lines of `backup verify --all`. */
export function renderPgArchiveCheck(p: PgArchiveCheck): string[] {
  return [`PITR archive: ${p.wal_files} WAL file(s), ${p.base_backups} base backup(s): checksum: ${p.checksum}`, ...damageLines(p)];
}

/** The binary log archive's lines of `backup verify --all`. */
export function renderBinlogArchiveCheck(p: BinlogArchiveCheck): string[] {
  return [
    `Binary log archive: ${p.files} file(s)${p.base_backups ? `, ${p.base_backups} physical base backup(s)` : ''}: checksum: ${p.checksum}`,
    ...damageLines(p),
  ];
}

function damageLines(p: { damaged: Array<{ record: string; reason: string }>; damaged_records: Array<{ name: string; message: string }> }): string[] {
  const lines = p.damaged_records.map((d) => `  DAMAGED record ${d.name}: ${d.message}`);
  for (const d of p.damaged.slice(0, 50)) lines.push(`  damaged: ${d.record}: ${d.reason}`);
  if (p.damaged.length > 50) lines.push(`  … ${p.damaged.length - 50} more damaged records (--json lists all)`);
  return lines;
}
