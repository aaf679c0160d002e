import type { Command } from 'commander';
import type { DataSubset, VerifyReport } from '../../app/index.js';
import { PrismError } from '../../errors/index.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { out, printJson, reportFailure } from '../output.js';
import { runAction } from '../run-action.js';
import { withInterruptSignal } from '../on-signal.js';
import { parseDuration } from '../parse-duration.js';
import { renderBackground } from '../render/render-background-verify.js';
import { renderBinlogArchiveCheck, renderPgArchiveCheck } from '../render/render-verify-archives.js';

interface Opts {
  all?: boolean;
  verbose?: boolean;
  readDataSubset?: string;
  readData: boolean;
  background?: boolean;
  lockWait?: string;
  json?: boolean;
  repo?: string;
}

export function parseSubset(text: string): DataSubset {
  const pct = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (pct && Number(pct[1]) > 0 && Number(pct[1]) <= 100) return { kind: 'percent', percent: Number(pct[1]) };
  const part = /^(\d+)\/(\d+)$/.exec(text);
  if (part && Number(part[1]) >= 1 && Number(part[1]) <= Number(part[2])) return { kind: 'part', n: Number(part[1]), of: Number(part[2]) };
  throw new PrismError('INVALID_ARGUMENT', `--read-data-subset "${text}": use a percentage (e.g. 10%) or a part n/t (e.g. 1/7).`);
}

export function registerBackupVerify(backup: Command): void {
  backup
    .command('verify')
    .description('check a backup: manifest, trees, index, packs, and (default) every chunk decompressed and re-hashed')
    .argument('[backup-id]', 'the backup to verify')
    .option('--all', 'verify every backup')
    .option('--verbose', 'list each check')
    .option('--read-data-subset <subset>', 'read only part of the data: N% of the packs, or part n/t')
    .option('--no-read-data', 'check structure only (no data read)')
    .option('--background', 'the scheduled consistency check: trees and index, plus the next part of the data; repairs what it can')
    .option('--lock-wait <duration>', 'with --background: how long to wait for a prune, or for running backups before a repair (default 30m)')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (id: string | undefined, opts: Opts) => {
        if (opts.background) return verifyInBackground(id, opts);
        if (opts.lockWait !== undefined) throw new PrismError('INVALID_ARGUMENT', '--lock-wait goes with --background.');
        if (id !== undefined && opts.all) throw new PrismError('INVALID_ARGUMENT', 'Give a backup id or --all, not both.');
        if (id === undefined && !opts.all) throw new PrismError('INVALID_ARGUMENT', 'Name the backup to verify (`prism backup list`), or pass --all.');
        if (!opts.readData && opts.readDataSubset !== undefined)
          throw new PrismError('INVALID_ARGUMENT', '--no-read-data and --read-data-subset exclude each other.');
        const data: DataSubset = !opts.readData ? { kind: 'none' } : opts.readDataSubset !== undefined ? parseSubset(opts.readDataSubset) : { kind: 'all' };
        const { verifyBackups } = await import('../../app/integrity/verify-backups.js');
        const report = await verifyBackups(await repoContext(opts), { id, all: opts.all ?? false, data });
        if (opts.json) printJson(report);
        else out(render(report, opts.verbose ?? false));
        if (!report.ok) {
          const archives = [
            report.pg_archive?.ok === false ? 'the PostgreSQL archive (WAL, base backups)' : '',
            report.binlog_archive?.ok === false ? 'the binary log archive' : '',
          ].filter(Boolean);
          const what =
            report.backups.some((b) => b.checksum === 'mismatch') || report.damaged_manifests.length > 0
              ? 'damaged backups are now marked corrupted'
              : archives.length > 0
                ? `${archives.join(' and ')} ${archives.length > 1 ? 'are' : 'is'} damaged`
                : `${report.damaged_packs.length} pack(s) are damaged outside the backups' chunks; run \`prism backup repair index\` to copy what is intact out of them`;
          return reportFailure('CHECKSUM_MISMATCH', `Checksum mismatch: ${what}.`, opts.json);
        }
        return 0;
      }),
    );
}

async function verifyInBackground(id: string | undefined, opts: Opts): Promise<number> {
  if (id !== undefined || opts.all || opts.readDataSubset !== undefined || !opts.readData) {
    throw new PrismError('INVALID_ARGUMENT', '--background chooses what to read itself: give it no backup id, --all, --read-data-subset or --no-read-data.');
  }
  const lockWaitMs = opts.lockWait !== undefined ? parseDuration('--lock-wait', opts.lockWait) : undefined;
  const ctx = await repoContext(opts);
  const { backgroundVerify } = await import('../../app/integrity/background-verify.js');
  const report = await withInterruptSignal((signal) =>
    backgroundVerify(ctx, { signal, trigger: 'manual', ...(lockWaitMs !== undefined ? { lockWaitMs } : {}) }),
  );
  if (opts.json) printJson(report);
  else out(renderBackground(report));
  if (report.ok) return 0;
  return reportFailure('CHECKSUM_MISMATCH', 'Checksum mismatch: damaged data could not be repaired; the affected backups are marked corrupted.', opts.json);
}

function render(r: VerifyReport, verbose: boolean): string {
  const lines: string[] = r.damaged_manifests.map((d) => `${d.name}: DAMAGED manifest: ${d.message}`);
  for (const d of r.damaged_packs) lines.push(`DAMAGED ${d.part}: ${d.message}`);
  if (r.backups.length === 0 && lines.length === 0) lines.push('No backups to verify.');
  for (const b of r.backups) {
    lines.push(`${b.id}: status: ${b.status}, checksum: ${b.checksum}`);
    if (verbose || !b.ok) for (const s of b.steps) lines.push(`  [${s.ok ? 'ok' : 'FAIL'}] ${s.name}: ${s.detail}`);
    for (const f of b.damaged.slice(0, 50)) lines.push(`  damaged: ${f}`);
    if (b.damaged.length > 50) lines.push(`  … ${b.damaged.length - 50} more damaged files (--json lists all)`);
  }
  for (const id of r.also_corrupted) lines.push(`${id}: status: corrupted (it shares the damaged data)`);
  if (r.pg_archive) lines.push(...renderPgArchiveCheck(r.pg_archive));
  if (r.binlog_archive) lines.push(...renderBinlogArchiveCheck(r.binlog_archive));
  return lines.join('\n');
}
