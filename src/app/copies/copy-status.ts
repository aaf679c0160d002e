import { Cron } from 'croner';
import type { CopyTarget, ResolvedConfig } from '../../config/index.js';
import { asPrismError } from '../../errors/index.js';
import type { AlertCopy, VerifyEvent } from '../../policy/alert-rules.js';
import { copyLag, type CopyLag, type LagBackup } from '../../policy/copy-lag.js';
import { isFutureDated } from '../../policy/future-dated.js';
import type { Manifest } from '../../repo/index.js';
import { loadAll } from '../backups/list-backups.js';
import { openRepository, type AppContext } from '../context.js';
import { copyContext } from './copy-context.js';
import { readCopyState, type CopyRunState } from './copy-state.js';
import { endOf, wantedInCopy } from './copy-wanted.js';

/** Cron runs looked at for a copy's interval: enough to span a weekend of a weekdays-only schedule. */
const RUNS_LOOKED_AT = 8;
/** `backup stats` and `backup health` wait at most this long for a copy's store (PRISM_STORE_RETRY_SECONDS, if lower, wins). */
const STATUS_RETRY_SECONDS = 10;

/**
 * How often the copy `target` is due to catch up, in ms: the longest gap between two of the
 * last runs of its schedule; with after_backup, the longest gap between two backup runs (full and
 * incremental schedules together); the shorter of the two when it has both. Null when neither
 * gives one (backups disabled and no schedule): no lag alert then.
 */
export function copyIntervalMs(config: ResolvedConfig, target: Pick<CopyTarget, 'schedule' | 'afterBackup'>, now: Date): number | null {
  const own = target.schedule !== undefined ? longestGap([target.schedule], now) : null;
  const { full_backup, incremental_backup } = config.backup.schedule;
  const backups = target.afterBackup && config.backup.enabled ? longestGap([full_backup, incremental_backup], now) : null;
  const known = [own, backups].filter((x): x is number => x !== null && x > 0);
  return known.length > 0 ? Math.min(...known) : null;
}

function longestGap(expressions: readonly string[], now: Date): number | null {
  const times = [
    ...new Set(
      expressions.flatMap((e) => {
        try {
          return new Cron(e, { paused: true }).previousRuns(RUNS_LOOKED_AT, now).map((d) => d.getTime());
        } catch {
          return []; // the service refuses it; nothing to measure here
        }
      }),
    ),
  ]
    .sort((a, b) => a - b)
    .slice(-RUNS_LOOKED_AT);
  let gap = 0;
  for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
  return times.length >= 2 ? gap : null;
}

const lagged = (ms: readonly Manifest[]): LagBackup[] => ms.map((m) => ({ id: m.id, at: endOf(m) }));

/**
 * What the alert rules know of each copy, from the local records only (the copy's state file and
 * the events of its checks): the service evaluates them every few minutes without reaching a store.
 */
export function copyAlertRecords(ctx: AppContext, primary: readonly Manifest[], events: readonly VerifyEvent[]): AlertCopy[] {
  const now = ctx.clock.now();
  return ctx.config.copies.map((target) => {
    const state = stateOf(ctx, target);
    return {
      name: target.name,
      intervalMs: copyIntervalMs(ctx.config, target, now),
      wanted: lagged(wantedInCopy(primary, target, now)),
      latest: state?.latest ?? null,
      lastRun: state ? { at: state.last_attempt_at, status: state.last_status, error: state.last_error } : null,
      verifyEvents: events.filter((e) => e.repository === target.name),
    };
  });
}

/** The recorded state of a copy, if it is of the copy's current location. */
function stateOf(ctx: AppContext, target: CopyTarget): CopyRunState | undefined {
  const s = readCopyState(ctx.config.home, target.name);
  return s?.repository === target.location ? s : undefined;
}

/** A copy as `prism backup stats` and `backup health` show it. */
export interface CopyStatus {
  name: string;
  repository: string;
  after_backup: boolean;
  schedule: string | null;
  /** The interval the lag alert measures in (see copyIntervalMs); null: none. */
  interval_hours: number | null;
  /** Backups (completed or partial) in the copy; null when it could not be read. */
  backups: number | null;
  /** The copy's newest backup, and how far it is behind the primary's newest (in backups and in time). */
  latest: LagBackup | null;
  lag: { backups: number; seconds: number | null; oldest_missing: LagBackup | null };
  /** Where latest and lag come from: the copy itself, or (when it could not be read) its last successful run. */
  source: 'copy' | 'last_run';
  /** Why the copy could not be read (the command goes on). */
  error: { code: string; message: string } | null;
  /** The last copy run recorded (state/copy-NAME.json). */
  last_run: { at: string; status: 'ok' | 'failed'; error: { code: string; message: string } | null; copied: number; bytes: number } | null;
  last_success_at: string | null;
}

/**
 * Each copy of backup.copies, read from its store (one listing of its backups, the copies at
 * once); a copy that cannot be read is shown with its error and its last recorded run, and does
 * not fail the command. A store that does not answer is given up after STATUS_RETRY_SECONDS.
 */
export async function copyStatuses(ctx: AppContext, primary: readonly Manifest[]): Promise<CopyStatus[]> {
  const now = ctx.clock.now();
  const set = process.env.PRISM_STORE_RETRY_SECONDS;
  const retry = set !== undefined && set !== '' && Number(set) >= 0 ? Math.min(Number(set), STATUS_RETRY_SECONDS) : STATUS_RETRY_SECONDS;
  return Promise.all(
    ctx.config.copies.map(async (target): Promise<CopyStatus> => {
      const state = stateOf(ctx, target);
      const wanted = lagged(wantedInCopy(primary, target, now));
      let read: { lag: CopyLag; backups: number } | undefined;
      let error: CopyStatus['error'] = null;
      try {
        const cctx = copyContext(ctx, target);
        const held = (await loadAll(await openRepository(cctx, { env: { ...process.env, PRISM_STORE_RETRY_SECONDS: String(retry) } }), cctx)).filter(
          (m) => (m.status === 'completed' || m.status === 'partial') && !isFutureDated(m, now),
        );
        const newest =
          lagged(held)
            .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || (a.id < b.id ? -1 : 1))
            .at(-1) ?? null;
        read = { lag: copyLag(wanted, newest), backups: held.length };
      } catch (e) {
        const err = asPrismError(e, `reading the copy ${target.name}`);
        error = { code: err.id, message: err.message };
        ctx.logger.warn({ event: 'copy.unreadable', copy: target.name, code: err.id, error: err.message }, `the copy ${target.name} cannot be read`);
      }
      const lag = read?.lag ?? copyLag(wanted, state?.latest ?? null);
      const interval = copyIntervalMs(ctx.config, target, now);
      return {
        name: target.name,
        repository: target.location,
        after_backup: target.afterBackup,
        schedule: target.schedule ?? null,
        interval_hours: interval === null ? null : interval / 3_600_000,
        backups: read?.backups ?? null,
        latest: lag.latest,
        lag: { backups: lag.backups, seconds: lag.seconds, oldest_missing: lag.oldest_missing },
        source: read ? 'copy' : 'last_run',
        error,
        last_run: state
          ? { at: state.last_attempt_at, status: state.last_status, error: state.last_error, copied: state.last_copied, bytes: state.last_bytes }
          : null,
        last_success_at: state?.last_success_at ?? null,
      };
    }),
  );
}

/** Each copy as the local records tell (no store reached): its last run and its lag from what that run left; for the metrics. */
export function recordedCopies(ctx: AppContext, primary: readonly Manifest[]): Array<{ name: string; state: CopyRunState | undefined; lag: CopyLag }> {
  const now = ctx.clock.now();
  return ctx.config.copies.map((target) => {
    const state = stateOf(ctx, target);
    return { name: target.name, state, lag: copyLag(lagged(wantedInCopy(primary, target, now)), state?.latest ?? null) };
  });
}
