/**
 * Formatting in the browser: sizes exactly as the CLI prints them (src/core/format.ts, 1024-based),
 * times through Intl in the browser's time zone.
 */
export { formatBytes, formatCount, formatPercent } from '../../src/core/format.js';
export { fromLocalInput } from './data-paths.js';

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const shortDateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'short' });
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

function valid(iso: string | null | undefined): Date | null {
  if (!iso) return null;
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function formatTime(iso: string | null | undefined): string {
  const d = valid(iso);
  return d ? dateTime.format(d) : '—';
}

export function formatShortTime(iso: string | null | undefined): string {
  const d = valid(iso);
  return d ? shortDateTime.format(d) : '—';
}

/** "3 hours ago", "in 2 days". */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  const d = valid(iso);
  if (!d) return '';
  const s = (d.getTime() - now) / 1000;
  const a = Math.abs(s);
  if (a < 60) return relative.format(Math.round(s), 'second');
  if (a < 3600) return relative.format(Math.round(s / 60), 'minute');
  if (a < 86400) return relative.format(Math.round(s / 3600), 'hour');
  return relative.format(Math.round(s / 86400), 'day');
}

/** Seconds as "42 s", "3 min 5 s", "2 h 10 min". */
export function formatSeconds(sec: number | null | undefined): string {
  if (sec === null || sec === undefined || !Number.isFinite(sec)) return '—';
  if (sec < 10) return `${sec.toFixed(sec < 1 ? 2 : 1)} s`;
  const s = Math.round(sec);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

export function formatMs(ms: number | null | undefined): string {
  return ms === null || ms === undefined ? '—' : formatSeconds(ms / 1000);
}

/** An ISO time for a `<input type="datetime-local">` value (local time, no zone). */
export function toLocalInput(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export const humanize = (s: string): string => s.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase());
