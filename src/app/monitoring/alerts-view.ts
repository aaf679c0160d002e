import { PrismError } from '../../errors/index.js';
import type { AlertsReport } from './alerts.js';

/** What `prism alerts --json` prints (and `GET /api/alerts` returns): the report, and the delivery failure as an error. */
export interface AlertsView {
  json: Record<string, unknown>;
  /** ALERT_DELIVERY_FAILED when a notification was not delivered. */
  error: PrismError | undefined;
}

/** The JSON of an evaluation; `all` adds the recently resolved alerts. */
export function alertsView(r: AlertsReport, opts: { all: boolean }): AlertsView {
  const failed = r.deliveries.filter((d) => !d.ok);
  const error =
    failed.length > 0
      ? new PrismError('ALERT_DELIVERY_FAILED', `${failed.length} alert notification(s) not delivered: ${[...new Set(failed.map((d) => d.error))].join('; ')}`)
      : undefined;
  return {
    json: {
      evaluated_at: r.evaluated_at,
      saved: r.saved,
      active: r.active,
      ...(opts.all ? { resolved: r.resolved } : {}),
      deliveries: r.deliveries,
      routing: r.routing,
      silences: r.silences,
      ...(error ? { error: error.toJSON() } : {}),
    },
    error,
  };
}
