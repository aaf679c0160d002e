import { spawn } from 'node:child_process';
import { hostname } from 'node:os';
import type { AlertsConfig } from '../../config/index.js';
import type { Clock } from '../../core/clock.js';
import type { Alert, AlertTarget, NotificationKind } from './alert-state.js';

/** The JSON a webhook receives (and a command reads on stdin). */
export interface AlertPayload {
  source: 'prism';
  notification: NotificationKind;
  host: string;
  home: string;
  time: string;
  alert: Pick<Alert, 'key' | 'severity' | 'rule' | 'message' | 'fix' | 'state' | 'raised_at' | 'resolved_at' | 'details'>;
}

export type DeliveryOutcome = { ok: true; attempts: number } | { ok: false; attempts: number; error: string };

/** A command that runs longer is killed and counts as a failed delivery. */
const COMMAND_TIMEOUT_MS = 60_000;
const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 4_000;

export function alertTargets(cfg: AlertsConfig): AlertTarget[] {
  return [...(cfg.webhook_url ? (['webhook'] as const) : []), ...(cfg.command ? (['command'] as const) : [])];
}

export function alertPayload(alert: Alert, kind: NotificationKind, home: string, now: Date): AlertPayload {
  const { key, severity, rule, message, fix, state, raised_at, resolved_at, details } = alert;
  return {
    source: 'prism',
    notification: kind,
    host: hostname(),
    home,
    time: now.toISOString(),
    alert: { key, severity, rule, message, fix, state, raised_at, resolved_at, details },
  };
}

export function deliverTo(target: AlertTarget, cfg: AlertsConfig, payload: AlertPayload, clock: Clock): Promise<DeliveryOutcome> {
  return target === 'webhook'
    ? postWebhook(cfg.webhook_url!, payload, cfg.webhook_timeout_ms, cfg.webhook_retries, clock)
    : runAlertCommand(cfg.command!, payload);
}

/**
 * POSTs the payload as JSON. Network errors, timeouts, 5xx and 429 are retried `retries` times
 * with a doubling backoff; other 4xx answers are final.
 */
export async function postWebhook(url: string, payload: AlertPayload, timeoutMs: number, retries: number, clock: Clock): Promise<DeliveryOutcome> {
  const body = JSON.stringify(payload);
  let error = '';
  for (let attempt = 1; attempt <= retries + 1; attempt++) {
    let retryable = true;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'prism-alerts' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, attempts: attempt };
      error = `HTTP ${res.status} ${res.statusText}`.trim();
      retryable = res.status >= 500 || res.status === 429;
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      error =
        err.name === 'TimeoutError'
          ? `no answer within ${timeoutMs} ms`
          : `${err.message}${err.cause?.code ? ` (${err.cause.code})` : err.cause?.message ? ` (${err.cause.message})` : ''}`;
    }
    if (!retryable) return { ok: false, attempts: attempt, error: `webhook ${url}: ${error}` };
    if (attempt <= retries) await clock.sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)));
  }
  return { ok: false, attempts: retries + 1, error: `webhook ${url}: ${error} (after ${retries + 1} attempts)` };
}

/** Runs the command through /bin/sh with the payload on stdin and PRISM_ALERT_* in the environment; exit 0 is delivered. */
export function runAlertCommand(command: string, payload: AlertPayload): Promise<DeliveryOutcome> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: {
        ...process.env,
        PRISM_ALERT_SEVERITY: payload.alert.severity,
        PRISM_ALERT_KEY: payload.alert.key,
        PRISM_ALERT_RULE: payload.alert.rule,
        PRISM_ALERT_MESSAGE: payload.alert.message,
        PRISM_ALERT_STATE: payload.alert.state,
        PRISM_ALERT_NOTIFICATION: payload.notification,
      },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString('utf8')).slice(-500)));
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ ok: false, attempts: 1, error: `command "${command}": ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve({ ok: true, attempts: 1 });
      const how = signal ? `was killed (${signal}${signal === 'SIGKILL' ? `, over ${COMMAND_TIMEOUT_MS / 1000} s?` : ''})` : `exited ${code}`;
      resolve({ ok: false, attempts: 1, error: `command "${command}" ${how}${stderr.trim() ? `: ${stderr.trim()}` : ''}` });
    });
    // a command that does not read its stdin must not fail the delivery
    child.stdin.on('error', () => {});
    child.stdin.end(JSON.stringify(payload) + '\n');
  });
}
