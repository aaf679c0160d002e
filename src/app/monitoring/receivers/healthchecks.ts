import type { Clock } from '../../../core/clock.js';
import { postHttp, redactUrl } from './http.js';
import type { DeliveryOutcome } from './message.js';

/** start: a job began; success: it ended well; fail: it failed (healthchecks.io ping API). */
export type HealthchecksSignal = 'start' | 'success' | 'fail';

/** Pings `url` (+ /start or /fail) with a short text body (the job and its outcome); retried like a webhook. */
export function pingHealthchecks(
  url: string,
  signal: HealthchecksSignal,
  body: string,
  o: { name: string; timeoutMs: number; retries: number },
  clock: Clock,
): Promise<DeliveryOutcome> {
  const base = url.replace(/\/+$/, '');
  return postHttp(
    {
      url: signal === 'success' ? base : `${base}/${signal}`,
      label: `healthchecks ${o.name} (${redactUrl(base)})`,
      body,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
      timeoutMs: o.timeoutMs,
      retries: o.retries,
    },
    clock,
  );
}
