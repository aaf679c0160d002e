import type { Command } from 'commander';
import { formatBytes, formatDateTime, formatPercent } from '../../core/format.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { out, printJson } from '../output.js';
import { renderCopies } from '../render/render-copies.js';
import { runAction } from '../run-action.js';

export function registerBackupStats(backup: Command): void {
  backup
    .command('stats')
    .description('backups by type and status, sizes, dedup and compression, disk use; each copy: newest backup and lag')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: { json?: boolean; repo?: string }) => {
        const { backupStats } = await import('../../app/backups/backup-stats.js');
        const s = await backupStats(await repoContext(opts));
        if (opts.json) return printJson(s);
        const kv = (o: Record<string, number>) =>
          Object.entries(o)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ') || '-';
        out(`Repository: ${s.repository}`);
        out(`Backups: ${s.backups.total} (${kv(s.backups.by_type)}; ${kv(s.backups.by_status)})`);
        out(`Original data (all backups): ${formatBytes(s.logical_bytes)}`);
        out(`Unique data: ${formatBytes(s.unique_bytes)} -> ${formatBytes(s.packed_bytes)} stored`);
        out(`Deduplication: ${s.dedup_ratio.toFixed(2)}x`);
        out(`Compression: ${formatPercent(s.compression_ratio)}`);
        out(`Repository size on disk: ${formatBytes(s.repository_bytes)}`);
        if (s.disk) out(`Disk: ${formatBytes(s.disk.free)} free of ${formatBytes(s.disk.total)} (${s.disk.used_percent.toFixed(1)}% used)`);
        out(`Failure rate (30 days): ${(s.failure_rate_30d * 100).toFixed(1)}%`);
        out(s.latest ? `Latest backup: ${s.latest.id} (${s.latest.status}, ${formatDateTime(new Date(s.latest.started_at))})` : 'Latest backup: none');
        if (s.copies.length > 0) out(renderCopies(s.copies));
      }),
    );
}
