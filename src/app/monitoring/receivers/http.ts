import type { Clock } from '../../../core/clock.js';
import type { DeliveryOutcome } from './message.js';

const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 4_000;

export interface HttpDelivery {
  url: string;
  /** How the URL is named in errors and logs: never its path or query (tokens live there). */
  label: string;
  body: string;
  headers: Record<string, string>;
  timeoutMs: number;
  retries: number;
}

/** scheme://host[:port]/… — a URL without the path and query a token may be part of. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' && !u.search ? '/' : '/…'}`;
  } catch {
    return '(an invalid URL)';
  }
}

/** What went wrong with a fetch, in words an operator can act on (DNS, refused, TLS, timeout). */
export function fetchError(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  const code = err.cause?.code;
  const words: Record<string, string> = {
    ENOTFOUND: 'host name not found (DNS)',
    EAI_AGAIN: 'host name lookup failed (DNS, temporary)',
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    DEPTH_ZERO_SELF_SIGNED_CERT: 'TLS: self-signed certificate',
    SELF_SIGNED_CERT_IN_CHAIN: 'TLS: self-signed certificate in the chain',
    UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS: certificate not trusted',
    CERT_HAS_EXPIRED: 'TLS: certificate expired',
    ERR_TLS_CERT_ALTNAME_INVALID: 'TLS: certificate is for another host name',
  };
  if (code) return `${words[code] ?? err.cause?.message ?? err.message} (${code})`;
  return err.cause?.message ? `${err.message} (${err.cause.message})` : err.message;
}

/**
 * POSTs the body. Network errors, timeouts, 5xx and 429 are retried `retries` times with a
 * doubling backoff; other 4xx answers are final. Errors name `label`, never the URL's path.
 */
export async function postHttp(d: HttpDelivery, clock: Clock): Promise<DeliveryOutcome> {
  let error = '';
  for (let attempt = 1; attempt <= d.retries + 1; attempt++) {
    let retryable = true;
    try {
      const res = await fetch(d.url, {
        method: 'POST',
        headers: { 'user-agent': 'prism-alerts', ...d.headers },
        body: d.body,
        signal: AbortSignal.timeout(d.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { ok: true, attempts: attempt };
      error = `HTTP ${res.status} ${res.statusText}`.trim();
      retryable = res.status >= 500 || res.status === 429;
    } catch (e) {
      error = fetchError(e, d.timeoutMs);
    }
    if (!retryable) return { ok: false, attempts: attempt, error: `${d.label}: ${error}` };
    if (attempt <= d.retries) await clock.sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)));
  }
  return { ok: false, attempts: d.retries + 1, error: `${d.label}: ${error} (after ${d.retries + 1} attempts)` };
}
