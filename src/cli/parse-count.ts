import { PrismError } from '../errors/index.js';

/** A flag's whole number of at least 1 (`--days 7`, `--limit 10`). */
export function parseCount(flag: string, text: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new PrismError('INVALID_ARGUMENT', `${flag} "${text}" must be a whole number of at least 1.`);
  return Number(text);
}
