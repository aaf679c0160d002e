/** An active alert as status and metrics need it (src/app/alerts.ts `Alert` has these fields). */
export interface ActiveAlert {
  readonly rule: string;
  readonly severity: string;
}

/** Where the service reads active alerts from. */
export interface AlertSource {
  active(home: string): readonly ActiveAlert[];
}

export const ALERT_SEVERITIES = ['critical', 'high', 'medium'] as const;

/**
 * The alerts module (`activeAlerts(home)` in src/app/alerts.ts) once it exists:
 *   export const alertSource: AlertSource | null = { active: activeAlerts };
 * Until then null: status shows no count and the metrics export 0 for every severity.
 */
export const alertSource: AlertSource | null = null;
