import { ERROR_CODES } from '../../errors/index.js';
import type { Manifest } from '../../repo/index.js';
import { openRepository, type AppContext } from '../context.js';
import { loadAll } from './list-backups.js';

export interface FailureEntry {
  id: string;
  time: string;
  type: string;
  status: string;
  code: string;
  message: string;
  /** The SOP's suggested fix for the code. */
  fix: string;
}

export interface FailuresReport {
  days: number;
  attempts: number;
  failures: FailureEntry[];
  /** Failed or partial attempts / all attempts in the window (0–1). */
  failure_rate: number;
}

const FIX_BY_ID = new Map<string, string>(Object.values(ERROR_CODES).map((s) => [s.id, s.fix]));

/** The SOP's fix for an error id (ERR_BACKUP_001 …), if it is one of prism's. */
export function fixForErrorId(id: string): string | undefined {
  return FIX_BY_ID.get(id);
}

/** Failed and partial attempts of the last `days` days, with the SOP's fix for each. */
export async function backupFailures(ctx: AppContext, days = 7): Promise<FailuresReport> {
  const all = await loadAll(await openRepository(ctx), ctx);
  return failuresIn(all, days, ctx.clock.now());
}

export function failuresIn(all: readonly Manifest[], days: number, now: Date): FailuresReport {
  const since = now.getTime() - days * 86_400_000;
  const recent = all.filter((m) => Date.parse(m.started_at) >= since);
  const failures = recent
    .filter((m) => m.status === 'failed' || m.status === 'partial')
    .reverse()
    .map((m) => ({
      id: m.id,
      time: m.started_at,
      type: m.type,
      status: m.status,
      code: m.error?.code ?? 'unknown',
      message: m.error?.message ?? '',
      fix: FIX_BY_ID.get(m.error?.code ?? '') ?? 'See logs/backup.log.',
    }));
  return { days, attempts: recent.length, failures, failure_rate: recent.length > 0 ? failures.length / recent.length : 0 };
}
