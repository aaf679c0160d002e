import { isFutureDated } from '../../policy/future-dated.js';
import { healthIndicators, SOP_HEALTH, type HealthIndicator } from '../../policy/health-indicators.js';
import type { Alert } from './alert-state.js';
import { evaluateGathered } from './alerts.js';
import type { AppContext } from '../context.js';
import { failuresIn } from '../backups/failures.js';
import { gatherRecords } from './alert-records.js';
import { copyStatuses, type CopyStatus } from '../copies/copy-status.js';

export interface BackupHealth {
  healthy: boolean;
  evaluated_at: string;
  indicators: HealthIndicator[];
  disk: { free: number; total: number; used_percent: number } | null;
  /** Active alerts after evaluating the rules (nothing is delivered from here). */
  alerts: Alert[];
  /** Each copy of backup.copies, read from its store: newest backup, lag, or why it cannot be read; its last recorded run. */
  copies: CopyStatus[];
}

/**
 * SOP §5.1: a successful backup in the last 24 h, failure rate < 1 % over 30 days, storage < 80 %;
 * plus the active alerts and the copies (a copy's trouble is an alert, not an indicator: the
 * primary's backups are what the indicators measure).
 */
export async function backupHealth(ctx: AppContext, opts: { cached?: boolean } = {}): Promise<BackupHealth> {
  const gathered = await gatherRecords(ctx, opts);
  const { manifests, disk } = gathered;
  const now = ctx.clock.now();
  const last = manifests
    // a backup dated in the future is no recent success (the future_backups alert reports it)
    .filter((m) => m.status === 'completed' && !isFutureDated(m, now))
    .map((m) => ({ id: m.id, at: m.finished_at ?? m.started_at }))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
    .at(-1);
  const f = failuresIn(manifests, SOP_HEALTH.failureWindowDays, now);
  const indicators = healthIndicators(
    {
      lastSuccessAt: last?.at ?? null,
      lastSuccessId: last?.id ?? null,
      attempts: f.attempts,
      failures: f.failures.length,
      failureRate: f.failure_rate,
      storageUsedPercent: disk?.used_percent ?? null,
    },
    SOP_HEALTH,
    now,
  );
  // a copy's health (--repo) is shown, not saved: the alert state is the primary's
  const alerts = (await evaluateGathered(ctx, gathered, { deliver: false, save: ctx.copy === undefined })).active;
  const copies = ctx.config.copies.length > 0 ? await copyStatuses(ctx, manifests) : [];
  return { healthy: indicators.every((i) => i.ok), evaluated_at: now.toISOString(), indicators, disk, alerts, copies };
}
