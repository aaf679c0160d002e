/** A running job's live progress: bytes, files, rate, ETA and a bar (an ARIA progressbar). */
import { formatBytes, formatCount, formatRelative, formatSeconds, humanize } from '../format.js';
import type { Progress } from '../types.js';

export function ProgressBar({ value, max, label }: { value: number; max: number | null; label: string }) {
  const pct = max && max > 0 ? Math.min(100, (value / max) * 100) : null;
  return (
    <div
      class={`progress ${pct === null ? 'indeterminate' : ''}`}
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={pct === null ? undefined : Math.round(pct)}
      aria-valuetext={pct === null ? 'size not known yet' : `${pct.toFixed(0)}%`}
    >
      <div class="progress-fill" style={pct === null ? undefined : { width: `${pct}%` }} />
    </div>
  );
}

export function LiveJob({ p }: { p: Progress }) {
  const pct = p.bytes_total && p.bytes_total > 0 ? (p.bytes_done / p.bytes_total) * 100 : null;
  return (
    <div class="live-job" data-testid="live-job">
      <div class="live-job-head">
        <strong>{p.job.toLowerCase().startsWith(p.kind) ? humanize(p.job) : `${humanize(p.kind)}: ${p.job}`}</strong>
        <span class="muted small">
          started {formatRelative(p.started_at)} · pid {p.pid}
        </span>
      </div>
      <ProgressBar value={p.bytes_done} max={p.bytes_total} label={`${p.kind} ${p.job} progress`} />
      <dl class="facts facts-row" aria-live="polite">
        <div>
          <dt>Data</dt>
          <dd data-testid="live-bytes">
            {formatBytes(p.bytes_done)}
            {p.bytes_total !== null && ` of ${formatBytes(p.bytes_total)}`}
            {pct !== null && ` (${pct.toFixed(0)}%)`}
          </dd>
        </div>
        <div>
          <dt>Files</dt>
          <dd data-testid="live-files">
            {formatCount(p.files_done)}
            {p.files_total !== null && ` of ${formatCount(p.files_total)}`}
          </dd>
        </div>
        <div>
          <dt>Rate</dt>
          <dd>{formatBytes(Math.round(p.rate_bytes_per_s))}/s</dd>
        </div>
        <div>
          <dt>Time left</dt>
          <dd>{p.eta_seconds === null ? 'estimating…' : formatSeconds(p.eta_seconds)}</dd>
        </div>
      </dl>
    </div>
  );
}
