/**
 * Backups dated in the future. No genuine backup starts or finishes after `now` (beyond clock skew
 * between hosts), so such a record was written by a host whose clock is wrong or injected by
 * someone who can write into the repository: retention must not let it take a genuine backup's
 * place among "the newest N", and the alert rules must not take it for a recent success.
 */

/** The clock skew tolerated between the host that wrote a backup and the one judging it. */
export const FUTURE_SKEW_MS = 3_600_000;

export interface DatedRecord {
  started_at: string;
  finished_at?: string | null | undefined;
}

/** True when the record starts or finishes more than FUTURE_SKEW_MS after `now`, or its start is not a date at all. */
export function isFutureDated(b: DatedRecord, now: Date): boolean {
  const limit = now.getTime() + FUTURE_SKEW_MS;
  // NaN (a start time that is not a date) fails the comparison: it cannot be placed in time either
  if (!(Date.parse(b.started_at) <= limit)) return true;
  return typeof b.finished_at === 'string' && Date.parse(b.finished_at) > limit;
}
