import * as v from 'valibot';
import { ApiError } from './route.js';

/**
 * Input of the API's handlers, checked with valibot: a failed check is 400 INVALID_ARGUMENT naming
 * the field ("page: a whole number from 1").
 */
export function parseInput<S extends v.GenericSchema>(schema: S, input: unknown, what: string): v.InferOutput<S> {
  if (what === 'body' && (input === null || typeof input !== 'object' || Array.isArray(input))) {
    throw new ApiError(400, 'INVALID_ARGUMENT', 'The body must be a JSON object.');
  }
  const r = v.safeParse(schema, input ?? {}, { abortPipeEarly: true });
  if (r.success) return r.output;
  const issue = r.issues[0];
  const field = issue.path?.map((p) => String(p.key)).join('.') ?? what;
  throw new ApiError(400, 'INVALID_ARGUMENT', `${field}: ${issue.message}`);
}

/** A query or body object that names only these keys (an unknown one is a typo, not something to ignore). */
export function strict<const E extends v.ObjectEntries>(entries: E) {
  return v.strictObject(entries, `not a known field (known: ${Object.keys(entries).join(', ')})`);
}

/** A whole number in a query string, from `min` to `max`. */
export function queryInt(min: number, max: number, fallback: number) {
  return v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d{1,16}$/, `a whole number from ${min} to ${max}`),
      v.transform(Number),
      v.number(),
      v.minValue(min, `a whole number from ${min} to ${max}`),
      v.maxValue(max, `a whole number from ${min} to ${max}`),
    ),
    String(fallback),
  );
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A date or time in ISO 8601: `2026-02-07` (the whole day, UTC: `from` its start, `to` its end)
 * or `2026-02-07T03:00:00Z` (with Z or an offset).
 */
export function queryDate(edge: 'start' | 'end') {
  return v.optional(
    v.pipe(
      v.string(),
      v.check((s) => DATE.test(s) || TIME.test(s), 'an ISO 8601 date (2026-02-07) or time (2026-02-07T03:00:00Z)'),
      v.check((s) => realDay(s.slice(0, 10)) && (DATE.test(s) || realTime(s.slice(11, 19))), 'not a date that exists'),
      v.transform((s) => (DATE.test(s) ? new Date(`${s}T${edge === 'start' ? '00:00:00.000' : '23:59:59.999'}Z`) : new Date(s))),
      v.check((d) => !Number.isNaN(d.getTime()), 'not a date that exists'),
    ),
  );
}

function realDay(ymd: string): boolean {
  const parts = DATE.exec(ymd);
  if (!parts) return false;
  const [y, m, d] = parts.slice(1).map(Number) as [number, number, number];
  const t = new Date(Date.UTC(y, m - 1, d));
  return t.getUTCFullYear() === y && t.getUTCMonth() === m - 1 && t.getUTCDate() === d;
}

function realTime(hms: string): boolean {
  const [h, m, s] = hms.split(':').map((x) => Number.parseInt(x, 10));
  return h! < 24 && m! < 60 && (s === undefined || Number.isNaN(s) || s < 60);
}

/** `true`/`false` (also 1/0) in a query string. */
export const queryBool = v.optional(
  v.pipe(
    v.picklist(['true', 'false', '1', '0'], 'true or false'),
    v.transform((s) => s === 'true' || s === '1'),
  ),
);

/** A page of a list: `items` of `page` (from 1) at `per_page` each; a page past the end is empty. */
export function pageOf<T>(all: readonly T[], page: number, perPage: number): { total: number; page: number; per_page: number; items: T[] } {
  const start = (page - 1) * perPage;
  return { total: all.length, page, per_page: perPage, items: start >= all.length ? [] : all.slice(start, start + perPage) };
}
