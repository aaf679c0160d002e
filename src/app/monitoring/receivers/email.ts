import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import nodemailer from 'nodemailer';
import type { Clock } from '../../../core/clock.js';
import { messageText, messageTitle, worstSeverity, type DeliveryOutcome, type ReceiverMessage } from './message.js';

export interface EmailReceiver {
  name: string;
  host: string;
  port?: number | undefined;
  secure: boolean;
  starttls: boolean;
  ca_file?: string | undefined;
  user?: string | undefined;
  from: string;
  to: string[];
}

const BACKOFF_BASE_MS = 250;
const BACKOFF_MAX_MS = 4_000;
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'ECONNRESET', 'EDNS']);

/** What went wrong, in words: DNS, refused, TLS, authentication, or the server's answer. The password is never part of it. */
function smtpError(e: unknown, password: string | undefined): { text: string; transient: boolean } {
  const err = e as Error & { code?: string; responseCode?: number; response?: string };
  const cause = (err as { cause?: { code?: string } }).cause;
  const code = err.code ?? cause?.code;
  let text: string;
  if (code === 'EAUTH') text = `authentication refused: ${err.response ?? err.message}`;
  else if (code === 'EDNS' || /ENOTFOUND|EAI_AGAIN/.test(err.message)) text = `host name not found (DNS): ${err.message}`;
  else if (/ECONNREFUSED/.test(err.message)) text = `connection refused: ${err.message}`;
  else if (code === 'ETLS' || /certificate|SSL|TLS|wrong version/i.test(err.message)) text = `TLS: ${err.message}`;
  else if (err.responseCode) text = `server answered ${err.response ?? err.responseCode}`;
  else text = err.message;
  if (password) text = text.split(password).join('***');
  const transient =
    code === 'EAUTH' || code === 'ETLS'
      ? false
      : err.responseCode !== undefined
        ? err.responseCode >= 400 && err.responseCode < 500
        : TRANSIENT_CODES.has(code ?? '') || /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN/.test(err.message);
  return { text: `${code ? `${code} ` : ''}${text}`.trim(), transient };
}

/**
 * Sends the message as a plain-text mail (subject: severity, notification and message). STARTTLS
 * is required unless `starttls: false`; `secure` is TLS from the first byte. Connection failures
 * and 4xx answers are retried with a doubling backoff; authentication, TLS and 5xx are final.
 */
export async function sendEmail(
  r: EmailReceiver,
  password: string | undefined,
  m: ReceiverMessage,
  o: { home: string; timeoutMs: number; retries: number },
  clock: Clock,
): Promise<DeliveryOutcome> {
  let ca: Buffer | undefined;
  if (r.ca_file !== undefined) {
    const path = isAbsolute(r.ca_file) ? r.ca_file : resolve(o.home, r.ca_file);
    try {
      ca = readFileSync(path);
    } catch (e) {
      return { ok: false, attempts: 0, error: `email ${r.name}: ca_file ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
    }
  }
  const transport = nodemailer.createTransport({
    host: r.host,
    port: r.port ?? (r.secure ? 465 : 587),
    secure: r.secure,
    requireTLS: !r.secure && r.starttls,
    ignoreTLS: !r.secure && !r.starttls,
    ...(r.user !== undefined ? { auth: { user: r.user, pass: password ?? '' } } : {}),
    ...(ca ? { tls: { ca } } : {}),
    connectionTimeout: o.timeoutMs,
    greetingTimeout: o.timeoutMs,
    socketTimeout: o.timeoutMs * 2,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const mail = {
    from: r.from,
    to: r.to,
    subject: messageTitle(m),
    text: messageText(m),
    headers: { 'X-Prism-Severity': worstSeverity(m), 'X-Prism-Notification': m.notification, 'X-Prism-Keys': m.alerts.map((a) => a.key).join(', ') },
  };
  let error = '';
  try {
    for (let attempt = 1; attempt <= o.retries + 1; attempt++) {
      try {
        await transport.sendMail(mail);
        return { ok: true, attempts: attempt };
      } catch (e) {
        const { text, transient } = smtpError(e, password);
        error = `email ${r.name} (${r.host}): ${text}`;
        if (!transient) return { ok: false, attempts: attempt, error };
      }
      if (attempt <= o.retries) await clock.sleep(Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)));
    }
    return { ok: false, attempts: o.retries + 1, error: `${error} (after ${o.retries + 1} attempts)` };
  } finally {
    transport.close();
  }
}
