import type { CopyStatus } from '../../app/copies/copy-status.js';
import { formatBytes, formatDateTime } from '../../core/format.js';

const when = (iso: string) => formatDateTime(new Date(iso));

/** A lag in the unit that reads best: days, hours, minutes or seconds. */
function span(seconds: number): string {
  if (seconds >= 86_400) return `${(seconds / 86_400).toFixed(1)} days`;
  if (seconds >= 3600) return `${(seconds / 3600).toFixed(1)} h`;
  if (seconds >= 60) return `${(seconds / 60).toFixed(1)} min`;
  return `${seconds.toFixed(0)} s`;
}

/** The copies part of `backup stats` and `backup health`: each copy's newest backup, its lag, its last run, or why it cannot be read. */
export function renderCopies(copies: readonly CopyStatus[]): string {
  const lines = ['Copies:'];
  for (const c of copies) {
    lines.push(`  ${c.name} (${c.repository})`);
    if (c.error) lines.push(`    cannot be read [${c.error.code}]: ${c.error.message}`);
    const from = c.source === 'copy' ? '' : ' (as its last successful copy left it)';
    lines.push(`    newest backup${from}: ${c.latest ? `${c.latest.id} (${when(c.latest.at)})` : 'none'}`);
    const behind =
      c.lag.backups === 0
        ? 'up to date with the primary'
        : `${c.lag.backups} backup(s) behind the primary${c.lag.seconds !== null ? ` (its newest is ${span(c.lag.seconds)} older than the primary's)` : ''}${c.lag.oldest_missing ? `; waiting since ${when(c.lag.oldest_missing.at)}` : ''}`;
    lines.push(`    ${behind}`);
    const r = c.last_run;
    if (!r) lines.push('    last copy: none recorded');
    else if (r.status === 'ok') lines.push(`    last copy: ok at ${when(r.at)} (${r.copied} backup(s), ${formatBytes(r.bytes)})`);
    else
      lines.push(
        `    last copy attempt failed at ${when(r.at)}${r.error ? ` [${r.error.code}]: ${r.error.message}` : ''}${c.last_success_at ? `; last success ${when(c.last_success_at)}` : ''}`,
      );
  }
  return lines.join('\n');
}
