import { readAlertsFile } from '../alert-state.js';

/** Notifications not yet delivered, per receiver: pending (waiting for a delivery) and failed (tried at least once, in vain). */
export interface DeliveryCounts {
  pending: number;
  failed: number;
  by_receiver: Record<string, { pending: number; failed: number }>;
}

/** Counts the deliveries kept in state/alerts.json that are still owed (retried at each evaluation, across restarts). */
export function deliveryCounts(home: string): DeliveryCounts {
  const state = readAlertsFile(home);
  const c: DeliveryCounts = { pending: 0, failed: 0, by_receiver: {} };
  for (const a of [...state.active, ...state.resolved]) {
    const p = a.pending;
    if (!p) continue;
    for (const target of p.targets) {
      const r = (c.by_receiver[target] ??= { pending: 0, failed: 0 });
      r.pending++;
      c.pending++;
      if (p.attempts > 0) {
        r.failed++;
        c.failed++;
      }
    }
  }
  return c;
}
