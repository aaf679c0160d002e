/**
 * SOP §5.1 health indicators as a pure function: a successful backup in the last 24 hours,
 * a failure rate under 1 % (30 days), backup storage under 80 % used.
 */
export interface HealthInput {
  /** Finish time (ISO) of the newest completed backup, or null. */
  lastSuccessAt: string | null;
  lastSuccessId: string | null;
  /** Attempts and failed or partial ones in the failure window. */
  attempts: number;
  failures: number;
  failureRate: number;
  storageUsedPercent: number | null;
}

export interface HealthThresholds {
  successWithinHours: number;
  /** 0–1. */
  maxFailureRate: number;
  failureWindowDays: number;
  maxStoragePercent: number;
}

/** The SOP §5.1 figures. */
export const SOP_HEALTH: HealthThresholds = { successWithinHours: 24, maxFailureRate: 0.01, failureWindowDays: 30, maxStoragePercent: 80 };

export interface HealthIndicator {
  name: 'recent_success' | 'failure_rate' | 'storage';
  ok: boolean;
  /** The measured figure, in the unit of `threshold`. */
  value: number | null;
  threshold: number;
  message: string;
}

export function healthIndicators(input: HealthInput, t: HealthThresholds, now: Date): HealthIndicator[] {
  const hours = input.lastSuccessAt ? (now.getTime() - Date.parse(input.lastSuccessAt)) / 3_600_000 : null;
  const recentOk = hours !== null && hours <= t.successWithinHours;
  const rateOk = input.failureRate < t.maxFailureRate;
  const used = input.storageUsedPercent;
  const storageOk = used !== null && used < t.maxStoragePercent;
  return [
    {
      name: 'recent_success',
      ok: recentOk,
      value: hours,
      threshold: t.successWithinHours,
      message:
        hours === null
          ? 'no successful backup yet'
          : `last successful backup ${hours.toFixed(1)} h ago (${input.lastSuccessId}); ${recentOk ? 'within' : 'more than'} ${t.successWithinHours} h`,
    },
    {
      name: 'failure_rate',
      ok: rateOk,
      value: input.failureRate * 100,
      threshold: t.maxFailureRate * 100,
      message: `${input.failures} of ${input.attempts} attempts failed in ${t.failureWindowDays} days (${(input.failureRate * 100).toFixed(1)}%; ${rateOk ? 'under' : 'not under'} ${t.maxFailureRate * 100}%)`,
    },
    {
      name: 'storage',
      ok: storageOk,
      value: used,
      threshold: t.maxStoragePercent,
      message:
        used === null
          ? 'disk use of the repository unknown'
          : `backup disk ${used.toFixed(1)}% used (${storageOk ? 'under' : 'not under'} ${t.maxStoragePercent}%)`,
    },
  ];
}
