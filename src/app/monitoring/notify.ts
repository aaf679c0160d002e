import { hostname } from 'node:os';
import type { AlertsConfig } from '../../config/index.js';
import type { Clock } from '../../core/clock.js';
import type { Alert, AlertTarget, NotificationKind } from './alert-state.js';
import {
  alertReceivers,
  alertSummary,
  configuredReceivers,
  deliverAndRecord,
  deliveryEnv,
  postHttp,
  redactUrl,
  type AlertPayload,
  type DeliveryOutcome,
} from './receivers/index.js';

export { runAlertCommand, type AlertPayload, type DeliveryOutcome } from './receivers/index.js';

/** The names of the receivers every alert goes to (until routes choose): webhook_url, command, then backup.alerts.receivers. */
export function alertTargets(cfg: AlertsConfig): AlertTarget[] {
  return alertReceivers(cfg).map((r) => r.name);
}

export function alertPayload(alert: Alert, kind: NotificationKind, home: string, now: Date): AlertPayload {
  return { source: 'prism', notification: kind, host: hostname(), home, time: now.toISOString(), alert: alertSummary(alert) };
}

/** Delivers one alert's notification to the receiver named `target`; a receiver no longer configured is a failed delivery. */
export function deliverTo(target: AlertTarget, cfg: AlertsConfig, payload: AlertPayload, clock: Clock): Promise<DeliveryOutcome> {
  const r = configuredReceivers(cfg).find((x) => x.name === target);
  if (!r) return Promise.resolve({ ok: false, attempts: 0, error: `no receiver named ${target}` });
  const m = { notification: payload.notification, host: payload.host, home: payload.home, time: payload.time, alerts: [payload.alert] };
  return deliverAndRecord(r, m, clock, deliveryEnv(cfg, payload.home));
}

/**
 * POSTs the payload as JSON. Network errors, timeouts, 5xx and 429 are retried `retries` times
 * with a doubling backoff; other 4xx answers are final.
 */
export function postWebhook(url: string, payload: AlertPayload, timeoutMs: number, retries: number, clock: Clock): Promise<DeliveryOutcome> {
  return postHttp(
    { url, label: `webhook ${redactUrl(url)}`, body: JSON.stringify(payload), headers: { 'content-type': 'application/json' }, timeoutMs, retries },
    clock,
  );
}
