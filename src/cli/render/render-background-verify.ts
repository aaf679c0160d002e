import type { BackgroundVerifyReport } from '../../app/index.js';

/** The text output of `prism backup verify --background`. */
export function renderBackground(r: BackgroundVerifyReport): string {
  const lines = [
    `Background verification: ${r.backups_checked} backup(s), trees and index checked; data of ${r.packs_read.length} of ${r.packs_total} pack(s) read`,
    `  Rotation: every pack within ${r.period_days} day(s); ${r.runs_per_period} run(s) per period, ${r.share} pack(s) per run${r.overdue > r.share ? ` (${r.overdue} overdue)` : ''}; next run ${r.next_run ?? 'none scheduled'}`,
  ];
  for (const d of r.damaged_manifests) lines.push(`  ${d.name}: DAMAGED manifest: ${d.message}`);
  for (const d of r.damaged_packs) lines.push(`  DAMAGED ${d.part}: ${d.message}; \`prism backup repair index\` copies what is intact out of it`);
  if (r.damaged_chunks > 0) lines.push(`  Damaged or missing chunks: ${r.damaged_chunks}`);
  if (r.repaired.chunks > 0)
    lines.push(`  Repaired: ${r.repaired.chunks} chunk(s) re-stored from ${r.repaired.files.length} live file(s): ${r.repaired.files.slice(0, 10).join(', ')}`);
  for (const c of r.corrupted) {
    lines.push(`  ${c.id}: marked corrupted`);
    for (const f of c.damaged.slice(0, 50)) lines.push(`    damaged: ${f}`);
  }
  for (const id of r.cleared) lines.push(`  ${id}: repaired and read back whole: completed`);
  for (const id of r.still_corrupted) lines.push(`  ${id}: still corrupted (marked earlier)`);
  if (r.forgotten_blobs > 0) lines.push(`  ${r.forgotten_blobs} damaged copies dropped from the index: the next backup stores them afresh`);
  for (const a of r.damaged_archives)
    lines.push(`  The ${a === 'pg' ? 'PostgreSQL point-in-time archive' : 'binary log archive'} is damaged: \`prism backup verify --all\` names the records`);
  if (r.needsFullBackup) lines.push('  A new full backup is needed: `prism backup create --type full`');
  lines.push(r.ok ? 'Status: ok' : 'Status: DAMAGED');
  return lines.join('\n');
}
