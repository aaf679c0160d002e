import type { AlertsConfig, ReceiverConfig } from '../../../config/index.js';
import type { Clock } from '../../../core/clock.js';
import { ntfyPayload, discordPayload, slackPayload, teamsPayload } from './chat.js';
import { runAlertCommand } from './command.js';
import { sendEmail } from './email.js';
import { postHttp, redactUrl } from './http.js';
import {
  messagePayload,
  receiverMessage,
  testAlert,
  type AlertSummary,
  type DeliveryOutcome,
  type ReceiverMessage,
  type ReceiverNotification,
} from './message.js';
import { readSecret } from './secrets.js';
import { recordEvent } from '../events.js';

export * from './message.js';
export { postHttp, redactUrl, fetchError } from './http.js';
export { runAlertCommand } from './command.js';
export { pingHealthchecks, type HealthchecksSignal } from './healthchecks.js';
import { pingHealthchecks, type HealthchecksSignal } from './healthchecks.js';

export type Receiver = ReceiverConfig;

/** What a delivery needs besides the receiver and the message. */
export interface DeliveryEnv {
  home: string;
  timeoutMs: number;
  retries: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Every receiver configured: `webhook_url` and `command` as the receivers named "webhook" and
 * "command" (as before), then `receivers` in their order.
 */
export function configuredReceivers(cfg: AlertsConfig): Receiver[] {
  return [
    ...(cfg.webhook_url ? [{ name: 'webhook', kind: 'webhook' as const, url: cfg.webhook_url }] : []),
    ...(cfg.command ? [{ name: 'command', kind: 'command' as const, command: cfg.command }] : []),
    ...cfg.receivers,
  ];
}

/** The receivers alerts go to: all but the healthchecks pings (which tell of jobs, not alerts). */
export function alertReceivers(cfg: AlertsConfig): Receiver[] {
  return configuredReceivers(cfg).filter((r) => r.kind !== 'healthchecks');
}

export function deliveryEnv(cfg: AlertsConfig, home: string): DeliveryEnv {
  return { home, timeoutMs: cfg.webhook_timeout_ms, retries: cfg.webhook_retries };
}

/** The receiver's URL with its secret read (url, url_file or url_env). */
function receiverUrl(r: Extract<Receiver, { url?: string }>, e: DeliveryEnv): string {
  const url = readSecret(r.name, 'url', { value: r.url, file: r.url_file, env: r.url_env }, e.home, e.env);
  if (!url || !/^https?:\/\//i.test(url)) throw new Error(`receiver ${r.name}: its url is not an http:// or https:// URL`);
  return url;
}

/**
 * Delivers one message to one receiver; never throws. Errors name the receiver and its host,
 * never a password, token or a URL's path.
 */
export async function deliverToReceiver(r: Receiver, m: ReceiverMessage, clock: Clock, e: DeliveryEnv): Promise<DeliveryOutcome> {
  try {
    return await deliver(r, m, clock, e);
  } catch (err) {
    return { ok: false, attempts: 0, error: (err as Error).message };
  }
}

async function deliver(r: Receiver, m: ReceiverMessage, clock: Clock, e: DeliveryEnv): Promise<DeliveryOutcome> {
  const json = (url: string, body: unknown, extra: Record<string, string> = {}) =>
    postHttp(
      {
        url,
        label: `${r.kind} ${r.name} (${redactUrl(url)})`,
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json', ...extra },
        timeoutMs: e.timeoutMs,
        retries: e.retries,
      },
      clock,
    );
  switch (r.kind) {
    case 'command':
      return runAlertCommand(r.command, messagePayload(m));
    case 'webhook':
      return json(receiverUrl(r, e), messagePayload(m));
    case 'slack':
      return json(receiverUrl(r, e), slackPayload(m));
    case 'teams':
      return json(receiverUrl(r, e), teamsPayload(m));
    case 'discord':
      return json(receiverUrl(r, e), discordPayload(m));
    case 'ntfy': {
      const url = new URL(receiverUrl(r, e));
      const topic = url.pathname.replace(/\/+$/, '').split('/').pop() ?? '';
      if (!topic) throw new Error(`receiver ${r.name}: the ntfy url names no topic (https://ntfy.sh/TOPIC)`);
      const root = `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '').slice(0, -topic.length) || '/'}`;
      const token = readSecret(r.name, 'token', { value: r.token, file: r.token_file, env: r.token_env }, e.home, e.env);
      return json(root, ntfyPayload(decodeURIComponent(topic), m), token ? { authorization: `Bearer ${token}` } : {});
    }
    case 'healthchecks': {
      // only a test goes to a ping URL as a message: a log entry, which changes no check's state
      const url = receiverUrl(r, e).replace(/\/+$/, '');
      return postHttp(
        {
          url: `${url}/log`,
          label: `healthchecks ${r.name} (${redactUrl(url)})`,
          body: `${m.alerts.map((a) => a.message).join('\n')}`,
          headers: { 'content-type': 'text/plain' },
          timeoutMs: e.timeoutMs,
          retries: e.retries,
        },
        clock,
      );
    }
    case 'email': {
      const password = readSecret(r.name, 'password', { value: r.password, file: r.password_file, env: r.password_env }, e.home, e.env);
      return sendEmail(r, password, m, e, clock);
    }
  }
}

/**
 * deliverToReceiver, then one line in logs/events.log (`alert.delivery`: receiver, kind,
 * notification, keys, ok, attempts, error). The error names no secret (see deliverToReceiver).
 */
export async function deliverAndRecord(r: Receiver, m: ReceiverMessage, clock: Clock, e: DeliveryEnv): Promise<DeliveryOutcome> {
  const outcome = await deliverToReceiver(r, m, clock, e);
  recordEvent(e.home, {
    time: clock.now().toISOString(),
    severity: outcome.ok ? 'info' : 'high',
    event: 'alert.delivery',
    receiver: r.name,
    receiver_kind: r.kind,
    notification: m.notification,
    keys: m.alerts.map((a) => a.key),
    ok: outcome.ok,
    attempts: outcome.attempts,
    ...(outcome.ok ? {} : { error: outcome.error }),
  });
  return outcome;
}

/** The outcome of `prism alerts test` for one receiver. */
export interface ReceiverTest {
  receiver: string;
  kind: Receiver['kind'];
  ok: boolean;
  attempts: number;
  error?: string;
}

/**
 * Sends a test notification through each receiver (or the one named), in order; every outcome is
 * reported, a failing receiver does not stop the others. Undefined when no receiver has that name.
 */
export async function testReceivers(cfg: AlertsConfig, o: { home: string; clock: Clock; only?: string | undefined }): Promise<ReceiverTest[] | undefined> {
  const all = configuredReceivers(cfg);
  const chosen = o.only === undefined ? all : all.filter((r) => r.name === o.only);
  if (o.only !== undefined && chosen.length === 0) return undefined;
  const now = o.clock.now();
  const m = receiverMessage([testAlert(now)], 'test', o.home, now);
  const out: ReceiverTest[] = [];
  for (const r of chosen) {
    const outcome = await deliverAndRecord(r, m, o.clock, deliveryEnv(cfg, o.home));
    out.push({ receiver: r.name, kind: r.kind, ok: outcome.ok, attempts: outcome.attempts, ...(outcome.ok ? {} : { error: outcome.error }) });
  }
  return out;
}

/** What the routing asks for: one notification of one or more alerts (a group) to the receiver named. */
export async function notifyReceiver(
  cfg: AlertsConfig,
  name: string,
  alerts: readonly AlertSummary[],
  notification: ReceiverNotification,
  o: { home: string; now: Date; clock: Clock },
): Promise<DeliveryOutcome> {
  const r = configuredReceivers(cfg).find((x) => x.name === name);
  if (!r) return { ok: false, attempts: 0, error: `no receiver named ${name} in backup.alerts.receivers` };
  return deliverAndRecord(r, receiverMessage(alerts, notification, o.home, o.now), o.clock, deliveryEnv(cfg, o.home));
}
export { deliveryCounts, type DeliveryCounts } from './delivery-status.js';

/**
 * Pings every healthchecks receiver for a job: `start` when it begins, `success` or `fail` when it
 * ends, with the job's name and outcome as the body. Never throws; each ping is one events-log
 * line, a failed one also names the receiver (never the URL's path, which is the check's key).
 */
export async function pingJobReceivers(
  cfg: AlertsConfig,
  job: string,
  signal: HealthchecksSignal,
  body: string,
  o: { home: string; clock: Clock; env?: NodeJS.ProcessEnv },
): Promise<{ receiver: string; outcome: DeliveryOutcome }[]> {
  const out: { receiver: string; outcome: DeliveryOutcome }[] = [];
  for (const r of configuredReceivers(cfg)) {
    if (r.kind !== 'healthchecks') continue;
    let outcome: DeliveryOutcome;
    try {
      const url = receiverUrl(r, { ...deliveryEnv(cfg, o.home), ...(o.env ? { env: o.env } : {}) });
      outcome = await pingHealthchecks(url, signal, body, { name: r.name, timeoutMs: cfg.webhook_timeout_ms, retries: cfg.webhook_retries }, o.clock);
    } catch (e) {
      outcome = { ok: false, attempts: 0, error: (e as Error).message };
    }
    recordEvent(o.home, {
      time: o.clock.now().toISOString(),
      severity: outcome.ok ? 'info' : 'high',
      event: 'healthchecks.ping',
      receiver: r.name,
      job,
      signal,
      ok: outcome.ok,
      attempts: outcome.attempts,
      ...(outcome.ok ? {} : { error: outcome.error }),
    });
    out.push({ receiver: r.name, outcome });
  }
  return out;
}
