/**
 * Which packs a background verification run reads (a pure function of the packs, when each
 * was last read, the schedule and now): every pack is re-read within `periodDays`, and each run
 * reads about its share of them, the least recently read first.
 */
export interface PackReadTimes {
  /** When prism first saw the pack (a pack never read is due one period after this). */
  first_seen: string;
  /** When its data was last read in full. */
  last_read?: string;
}

export interface RotationInput {
  /** Every pack holding file data of the backups. */
  packs: readonly string[];
  state: Readonly<Record<string, PackReadTimes>>;
  now: Date;
  periodDays: number;
  /** The verify job's next scheduled times after now, in order (from backup.schedule.verify): the next one, and those within one period (up to packs + 1 of them is enough). */
  runs: readonly Date[];
}

export interface RotationPlan {
  /** Packs to read, least recently read first. */
  read: string[];
  /** Scheduled runs within one period from now (at least 1). */
  runsPerPeriod: number;
  /** ceil(packs / runsPerPeriod), at least 1: what each run reads in the steady state. */
  share: number;
  /** Packs that would pass the period before the next run: read now, beyond the share if need be. */
  overdue: number;
  nextRun: Date | null;
}

const DAY = 86_400_000;

export function planRotation(input: RotationInput): RotationPlan {
  const { packs, now } = input;
  const period = input.periodDays * DAY;
  const runs = input.runs;
  const within = runs.filter((r) => r.getTime() <= now.getTime() + period).length;
  const runsPerPeriod = Math.max(1, within);
  const nextRun = runs[0] ?? null;
  const share = packs.length === 0 ? 0 : Math.max(1, Math.ceil(packs.length / runsPerPeriod));
  const due = (p: string): number => {
    const s = input.state[p];
    const t = Date.parse(s?.last_read ?? s?.first_seen ?? '');
    return Number.isFinite(t) ? t : now.getTime();
  };
  const order = [...packs].sort((a, b) => {
    const read = Number(input.state[a]?.last_read !== undefined) - Number(input.state[b]?.last_read !== undefined);
    return due(a) - due(b) || read || (a < b ? -1 : a > b ? 1 : 0);
  });
  // without a next run (an expression that never fires again), whatever is due within the period now
  const horizon = (nextRun ?? new Date(now.getTime() + period)).getTime();
  const overdue = order.filter((p) => due(p) + period < horizon).length;
  return { read: order.slice(0, Math.max(share, overdue)), runsPerPeriod, share, overdue, nextRun };
}

/** The read times after a run that read `read` at `now`; packs no longer present are dropped. */
export function afterRotation(
  state: Readonly<Record<string, PackReadTimes>>,
  packs: readonly string[],
  read: readonly string[],
  now: Date,
): Record<string, PackReadTimes> {
  const t = now.toISOString();
  const out: Record<string, PackReadTimes> = {};
  for (const p of packs) out[p] = { first_seen: state[p]?.first_seen ?? t, ...(state[p]?.last_read ? { last_read: state[p]!.last_read! } : {}) };
  for (const p of read) if (out[p]) out[p]!.last_read = t;
  return out;
}
