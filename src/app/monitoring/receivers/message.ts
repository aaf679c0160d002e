import { hostname } from 'node:os';
import type { Alert, NotificationKind } from '../alert-state.js';

/** What a receiver is told: a new alert, a reminder, that it cleared, that someone acknowledged it, or a test. */
export type ReceiverNotification = NotificationKind | 'ack' | 'test';

export type AlertSummary = Pick<Alert, 'key' | 'severity' | 'rule' | 'message' | 'fix' | 'state' | 'raised_at' | 'resolved_at' | 'details'>;

/** The JSON a webhook receives (and a command reads on stdin): one alert. */
export interface AlertPayload {
  source: 'prism';
  notification: ReceiverNotification;
  host: string;
  home: string;
  time: string;
  alert: AlertSummary;
}

/** One notification to one receiver: one alert, or several raised in one evaluation (a group). */
export interface ReceiverMessage {
  notification: ReceiverNotification;
  host: string;
  home: string;
  time: string;
  alerts: AlertSummary[];
}

export type DeliveryOutcome = { ok: true; attempts: number } | { ok: false; attempts: number; error: string };

export function alertSummary(alert: AlertSummary): AlertSummary {
  const { key, severity, rule, message, fix, state, raised_at, resolved_at, details } = alert;
  return { key, severity, rule, message, fix, state, raised_at, resolved_at, details };
}

export function receiverMessage(alerts: readonly AlertSummary[], notification: ReceiverNotification, home: string, now: Date): ReceiverMessage {
  return { notification, host: hostname(), home, time: now.toISOString(), alerts: alerts.map(alertSummary) };
}

/**
 * The JSON a webhook receives and a command reads on stdin: one per message. `alert` is the first
 * (the most severe) alert, as before grouping; `count` and `alerts` carry every alert of the group.
 */
export interface GroupedAlertPayload extends AlertPayload {
  count: number;
  alerts: Array<AlertSummary & { notification: ReceiverNotification }>;
}

export function messagePayload(m: ReceiverMessage): GroupedAlertPayload {
  const alerts = m.alerts.map((a) => ({ notification: m.notification, ...a }));
  return { source: 'prism', notification: m.notification, host: m.host, home: m.home, time: m.time, alert: m.alerts[0]!, count: alerts.length, alerts };
}

/** The alert a test notification carries (`prism alerts test`). */
export function testAlert(now: Date): AlertSummary {
  const t = now.toISOString();
  return {
    key: 'prism.test',
    severity: 'medium',
    rule: 'test',
    message: 'Test notification from prism: this receiver works.',
    fix: 'Nothing to do; sent by `prism alerts test`.',
    state: 'active',
    raised_at: t,
    resolved_at: null,
    details: {},
  };
}

const WORST = ['critical', 'high', 'medium'] as const;
/** The most severe severity of a message's alerts. */
export function worstSeverity(m: ReceiverMessage): string {
  return WORST.find((s) => m.alerts.some((a) => a.severity === s)) ?? 'medium';
}

/** A one-line title: "[prism] CRITICAL raised: message" (or "3 alerts"). */
export function messageTitle(m: ReceiverMessage): string {
  const what = m.alerts.length === 1 ? m.alerts[0]!.message : `${m.alerts.length} alerts`;
  const label = m.notification === 'test' ? 'test' : m.notification;
  return `[prism ${m.host}] ${worstSeverity(m).toUpperCase()} ${label}: ${what}`;
}

/** The text body: per alert its severity, key, message, fix and the details (backup id …). */
export function messageText(m: ReceiverMessage): string {
  const blocks = m.alerts.map((a) => {
    const details = Object.entries(a.details ?? {}).map(([k, v]) => `  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
    return [`${a.severity.toUpperCase()} ${a.key} (${a.state})`, a.message, `Fix: ${a.fix}`, ...details].join('\n');
  });
  return [`prism on ${m.host} (${m.home}), ${m.notification} at ${m.time}`, '', blocks.join('\n\n')].join('\n');
}
