import { PrismError } from '../errors/index.js';

const UNIT_MS: Record<string, number> = {
  second: 1000,
  minute: 60_000,
  hour: 3_600_000,
  day: 86_400_000,
  week: 7 * 86_400_000,
};

/**
 * Reads the dates the SOP writes: "now", "7 days ago", "today", "yesterday", "2026-02-07",
 * "2026-02-07 03:00"; anything else goes to chrono-node (loaded only then: it is slow to load).
 * A bare date means its start (`edge: 'start'`) or its end (`edge: 'end'`).
 */
export async function parseDate(flag: string, text: string, now: Date, edge: 'start' | 'end'): Promise<Date> {
  const t = text.trim().toLowerCase();
  if (t === 'now') return new Date(now);
  if (t === 'today' || t === 'yesterday') {
    const d = new Date(now);
    if (t === 'yesterday') d.setDate(d.getDate() - 1);
    return dayEdge(d, edge);
  }
  const ago = /^(\d+)\s*(second|minute|hour|day|week|month|year)s?\s+ago$/.exec(t);
  if (ago) {
    const n = Number(ago[1]);
    const unit = ago[2]!;
    const d = new Date(now);
    if (unit === 'month') d.setMonth(d.getMonth() - n);
    else if (unit === 'year') d.setFullYear(d.getFullYear() - n);
    else d.setTime(d.getTime() - n * UNIT_MS[unit]!);
    return d;
  }
  if (/^\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2})?)?$/.test(t)) {
    const iso = parseLocalIso(t, edge);
    if (iso) return iso;
    throw invalid(flag, text);
  }
  const chrono = await import('chrono-node');
  const r = chrono.parse(text, now, { forwardDate: false })[0];
  if (!r || r.text.trim().length !== text.trim().length) throw invalid(flag, text);
  const d = r.start.date();
  return r.start.isCertain('hour') ? d : dayEdge(d, edge);
}

/** A target time: an ISO time with a zone (e.g. 2026-12-01T18:30:00.250Z) is taken exactly; anything else as parseDate reads it (a bare date: its end). */
export async function parseTargetTime(flag: string, text: string, now: Date): Promise<Date> {
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}(:?\d{2})?)$/i.test(text.trim())) {
    const d = new Date(text.trim().replace(' ', 'T'));
    if (!Number.isNaN(d.getTime())) return d;
  }
  return parseDate(flag, text, now, 'end');
}

function invalid(flag: string, text: string): PrismError {
  return new PrismError('INVALID_ARGUMENT', `${flag} "${text}" is not a date; use e.g. "7 days ago", "now", "2026-02-07" or "2026-02-07 03:00".`, {
    flag,
    value: text,
  });
}

function dayEdge(d: Date, edge: 'start' | 'end'): Date {
  const out = new Date(d);
  if (edge === 'start') out.setHours(0, 0, 0, 0);
  else out.setHours(23, 59, 59, 999);
  return out;
}

function parseLocalIso(t: string, edge: 'start' | 'end'): Date | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[t ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(t)!;
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => (v === undefined ? undefined : Number(v)));
  const date = new Date(2000, mo! - 1, d!, h ?? 0, mi ?? 0, s ?? 0, 0);
  date.setFullYear(y!, mo! - 1, d!);
  if (h === undefined) date.setTime(dayEdge(date, edge).getTime());
  if (Number.isNaN(date.getTime()) || date.getMonth() !== mo! - 1 || date.getDate() !== d || (h !== undefined && date.getHours() !== h)) return undefined;
  return date;
}
