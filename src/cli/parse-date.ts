import * as chrono from 'chrono-node';
import { PrismError } from '../errors/index.js';

/**
 * Reads the dates the SOP writes: "now", "7 days ago", "yesterday", "2026-02-07",
 * "2026-02-07 03:00". A bare date means its start (`edge: 'start'`) or its end (`edge: 'end'`).
 */
export function parseDate(flag: string, text: string, now: Date, edge: 'start' | 'end'): Date {
  const t = text.trim();
  if (t.toLowerCase() === 'now') return now;
  const iso = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?)?$/.test(t) ? parseLocalIso(t, edge) : undefined;
  if (iso) return iso;
  const results = chrono.parse(t, now, { forwardDate: false });
  const r = results[0];
  if (!r || r.text.length !== t.length) {
    throw new PrismError('INVALID_ARGUMENT', `${flag} "${text}" is not a date; use e.g. "7 days ago", "now", "2026-02-07" or "2026-02-07 03:00".`, { flag, value: text });
  }
  const d = r.start.date();
  if (!r.start.isCertain('hour') && !/ago$/i.test(t)) {
    if (edge === 'start') d.setHours(0, 0, 0, 0);
    else d.setHours(23, 59, 59, 999);
  }
  return d;
}

function parseLocalIso(t: string, edge: 'start' | 'end'): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(t)!;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => (v === undefined ? undefined : Number(v)));
  const date =
    h === undefined
      ? edge === 'start'
        ? new Date(y!, mo! - 1, d!, 0, 0, 0, 0)
        : new Date(y!, mo! - 1, d!, 23, 59, 59, 999)
      : new Date(y!, mo! - 1, d!, h, mi!, s ?? 0, 0);
  if (Number.isNaN(date.getTime()) || date.getMonth() !== mo! - 1 || date.getDate() !== d) return undefined;
  return date;
}
