import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from '../../core/clock.js';

export interface Session {
  readonly csrf: string;
  readonly expiresAt: Date;
}

const MAX_SESSIONS = 1000;

const digest = (id: string): string => createHash('sha256').update(id, 'utf8').digest('hex');

/**
 * Logins, in memory (a restart logs everyone out). A session's id is kept only as its SHA-256,
 * so looking one up tells nothing of other ids through timing; it ends `ttlMs` after the login,
 * on the injected clock.
 */
export class Sessions {
  private readonly byDigest = new Map<string, Session>();

  constructor(
    private readonly clock: Clock,
    private readonly ttlMs: number,
  ) {}

  create(): { id: string; session: Session } {
    this.purge();
    while (this.byDigest.size >= MAX_SESSIONS) this.byDigest.delete(this.byDigest.keys().next().value!);
    const id = randomBytes(32).toString('base64url');
    const session: Session = { csrf: randomBytes(32).toString('base64url'), expiresAt: new Date(this.clock.now().getTime() + this.ttlMs) };
    this.byDigest.set(digest(id), session);
    return { id, session };
  }

  /** The live session of `id`; an expired one is dropped. */
  get(id: string | undefined): Session | undefined {
    if (!id || id.length > 200) return undefined;
    const key = digest(id);
    const s = this.byDigest.get(key);
    if (!s) return undefined;
    if (s.expiresAt.getTime() <= this.clock.now().getTime()) {
      this.byDigest.delete(key);
      return undefined;
    }
    return s;
  }

  delete(id: string | undefined): void {
    if (id) this.byDigest.delete(digest(id));
  }

  get size(): number {
    return this.byDigest.size;
  }

  private purge(): void {
    const now = this.clock.now().getTime();
    for (const [k, s] of this.byDigest) if (s.expiresAt.getTime() <= now) this.byDigest.delete(k);
  }
}

/** Failures an address may have in a row before it has to wait. */
export const FREE_LOGIN_FAILURES = 5;
// short enough that a guesser on the same address (all of loopback is one) cannot lock the operator out for long
const MAX_WAIT_MS = 30_000;
const MAX_ADDRESSES = 10_000;

/**
 * Slows down guessing: after FREE_LOGIN_FAILURES failed logins in a row from one address, each
 * further attempt must wait (1 s, then twice as long after each failure, up to 5 min); a
 * success clears the count.
 */
export class LoginThrottle {
  private readonly failures = new Map<string, { count: number; until: number }>();

  constructor(private readonly clock: Clock) {}

  /** Milliseconds `address` must still wait before its next attempt (0: it may try now). */
  waitMs(address: string): number {
    const f = this.failures.get(address);
    return f ? Math.max(0, f.until - this.clock.now().getTime()) : 0;
  }

  failed(address: string): void {
    const f = this.failures.get(address) ?? { count: 0, until: 0 };
    f.count++;
    f.until = f.count >= FREE_LOGIN_FAILURES ? this.clock.now().getTime() + Math.min(MAX_WAIT_MS, 1000 * 2 ** (f.count - FREE_LOGIN_FAILURES)) : 0;
    this.failures.delete(address);
    if (this.failures.size >= MAX_ADDRESSES) this.failures.delete(this.failures.keys().next().value!);
    this.failures.set(address, f);
  }

  succeeded(address: string): void {
    this.failures.delete(address);
  }
}
