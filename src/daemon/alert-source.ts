import { activeAlerts } from '../app/monitoring/alert-state.js';
import { deliveryCounts, type DeliveryCounts } from '../app/monitoring/receivers/delivery-status.js';

/** An active alert as status and metrics need it (src/app/monitoring/alerts.ts `Alert` has these fields). */
export interface ActiveAlert {
  readonly rule: string;
  readonly severity: string;
}

/** Where the service reads active alerts from. */
export interface AlertSource {
  active(home: string): readonly ActiveAlert[];
  /** Notifications still owed to receivers (pending; failed: tried in vain at least once). */
  deliveries?(home: string): DeliveryCounts;
}

export const ALERT_SEVERITIES = ['critical', 'high', 'medium'] as const;

/** The alert state file kept by `evaluateAlerts` (src/app/monitoring/alerts.ts). */
export const alertSource: AlertSource | null = { active: activeAlerts, deliveries: deliveryCounts };
