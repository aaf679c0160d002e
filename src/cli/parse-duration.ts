import { PrismError } from '../errors/index.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "30s", "5m", "1h", "250ms" or a bare number of seconds → milliseconds. */
export function parseDuration(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) throw new PrismError('INVALID_ARGUMENT', `${flag} "${text}" is not a duration; use e.g. 30s, 5m or 1h.`, { flag, value: text });
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 's']!);
}
