import type { Command } from 'commander';
import { systemClock } from '../../core/clock.js';
import { formatBytes, formatCount, formatDateTime, formatPercent } from '../../core/format.js';
import { isBackupType } from '../../core/types.js';
import { PrismError } from '../../errors/index.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { out, printJson, reportFailure, table } from '../output.js';
import { parseCount } from '../parse-count.js';
import { parseDate } from '../parse-date.js';
import { compressionOf } from '../render/render-backup.js';
import { runAction } from '../run-action.js';

interface Opts {
  type?: string;
  from?: string;
  to?: string;
  limit?: string;
  json?: boolean;
}

export function registerBackupList(backup: Command): void {
  backup
    .command('list')
    .description('list backups, newest first')
    .option('--type <type>', 'only full or only incremental backups')
    .option('--from <date>', 'created at or after (e.g. "7 days ago", "2026-02-07")')
    .option('--to <date>', 'created at or before (e.g. now, "2026-02-07 03:00")')
    .option('--limit <n>', 'at most n backups (the newest)')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: Opts & { repo?: string }) => {
        if (opts.type !== undefined && !isBackupType(opts.type)) {
          throw new PrismError('INVALID_ARGUMENT', `--type "${opts.type}" is not a backup type; use full or incremental.`);
        }
        const limit = opts.limit !== undefined ? parseCount('--limit', opts.limit) : undefined;
        const now = systemClock.now();
        const from = opts.from !== undefined ? await parseDate('--from', opts.from, now, 'start') : undefined;
        const to = opts.to !== undefined ? await parseDate('--to', opts.to, now, 'end') : undefined;
        if (from && to && from > to) throw new PrismError('INVALID_ARGUMENT', `--from (${from.toISOString()}) is after --to (${to.toISOString()}).`);
        const ctx = await repoContext(opts);
        const { listBackupsAndDamage } = await import('../../app/backups/list-backups.js');
        const { backups, damaged } = await listBackupsAndDamage(ctx, { type: opts.type as 'full' | 'incremental' | undefined, from, to, limit });
        if (opts.json) printJson([...backups, ...damaged]);
        else if (backups.length === 0 && damaged.length === 0) out('No backups found.');
        else {
          out(
            table(
              ['ID', 'TYPE', 'STATUS', 'CREATED', 'SIZE', 'ORIGINAL', 'COMPRESSION', 'FILES', 'COMMENT'],
              [
                ...backups.map((m) => [
                  m.id,
                  m.type,
                  m.status,
                  formatDateTime(new Date(m.started_at)),
                  formatBytes(m.stats.stored_bytes),
                  formatBytes(m.stats.original_bytes),
                  formatPercent(compressionOf(m)),
                  formatCount(m.stats.files),
                  m.comment ?? '',
                ]),
                ...damaged.map((d) => [d.id, '-', 'DAMAGED', '-', '-', '-', '-', '-', 'manifest cannot be read']),
              ],
            ),
          );
        }
        if (damaged.length === 0) return 0;
        const messages = damaged.map((d) => `\n  ${d.error.message}`).join('');
        return reportFailure(
          'REPO_CORRUPT',
          `${damaged.length} manifest(s) cannot be read; their backups can be neither listed nor restored:${messages}`,
          opts.json,
        );
      }),
    );
}
