import type { AtomicWrite, Backend, CallOptions, ObjectInfo, ReadOptions } from './backend.js';
import { bufferedWrite } from './buffered-write.js';
import { ForwardingBackend } from './forwarding-backend.js';
import { isStoreError, objectRetained, storeRefused, storeUnavailable, type StoreError } from './store-error.js';
import type { Clock } from '../core/clock.js';

export interface RetryPolicy {
  /** How long to keep retrying one call before giving up (ms). */
  maxElapsedMs: number;
  /** The first wait (ms); each next one doubles, up to maxDelayMs, with full jitter. */
  baseDelayMs: number;
  maxDelayMs: number;
}

/** restic and kopia keep trying for minutes: a store that answers 503 for a minute must not fail a backup. */
export const DEFAULT_RETRY: RetryPolicy = { maxElapsedMs: 5 * 60_000, baseDelayMs: 500, maxDelayMs: 30_000 };

export interface RetryEvent {
  operation: string;
  object: string;
  attempt: number;
  delayMs: number;
  error: StoreError;
}

/**
 * Retries what a remote store may fail for a moment: calls that end in a transient StoreError
 * (5xx, 429/503 SlowDown, a reset or timed-out connection) are tried again after an exponential,
 * fully jittered wait, until `maxElapsedMs` has passed; then the operator gets STORE_UNAVAILABLE
 * naming the store and the last error. A permanent StoreError becomes STORE_REFUSED at once, a
 * `protected` one (an object under retention) OBJECT_RETAINED.
 *
 * Every retried call is idempotent: put replaces the whole object; a conditional create whose
 * answer was lost (the object was made, the reply never came) is recognised on the next try by
 * reading the object back and finding our own bytes. Atomic writes are kept in memory and sent
 * as one put at commit, so a commit can be sent again whole (a pack is 16 MiB).
 */
export class RetryingBackend extends ForwardingBackend {
  constructor(
    inner: Backend,
    private readonly clock: Clock,
    private readonly policy: RetryPolicy = DEFAULT_RETRY,
    private readonly onRetry?: (e: RetryEvent) => void,
  ) {
    super(inner);
  }

  /** A call of a capability below (retaining.ts), retried as the contract's calls are. */
  retried<T>(operation: string, object: string, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    return this.retry(operation, object, signal, call);
  }

  private async retry<T>(operation: string, object: string, signal: AbortSignal | undefined, call: (attempt: number) => Promise<T>): Promise<T> {
    const start = this.clock.now().getTime();
    for (let attempt = 1; ; attempt++) {
      try {
        return await call(attempt);
      } catch (e) {
        if (!isStoreError(e) || e.kind === 'not-found' || e.kind === 'exists') throw e;
        if (e.kind === 'permanent') throw storeRefused(e);
        if (e.kind === 'protected') throw objectRetained(e);
        signal?.throwIfAborted();
        const elapsed = this.clock.now().getTime() - start;
        const ceiling = Math.min(this.policy.maxDelayMs, this.policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
        const delayMs = Math.min(Math.random() * ceiling, Math.max(0, this.policy.maxElapsedMs - elapsed));
        if (elapsed >= this.policy.maxElapsedMs) throw storeUnavailable(e, attempt, elapsed / 1000);
        this.onRetry?.({ operation, object, attempt, delayMs, error: e });
        await this.clock.sleep(delayMs, signal);
        signal?.throwIfAborted();
      }
    }
  }

  override put(name: string, data: Uint8Array | readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    return this.retry('put', name, opts?.signal, () => this.inner.put(name, data, opts));
  }

  override putIfAbsent(name: string, data: Uint8Array, opts?: CallOptions): Promise<boolean> {
    return this.retry('putIfAbsent', name, opts?.signal, async (attempt) => {
      const created = await this.inner.putIfAbsent(name, data, opts);
      if (created || attempt === 1) return created;
      // an earlier try may have created it and lost the answer: ours if it holds our bytes
      const stored = await this.inner.get(name, opts).catch((e: unknown) => {
        if (isStoreError(e, 'not-found')) return undefined;
        throw e;
      });
      return stored !== undefined && Buffer.compare(stored, data) === 0;
    });
  }

  override get(name: string, opts?: ReadOptions): Promise<Buffer> {
    return this.retry('get', name, opts?.signal, () => this.inner.get(name, opts));
  }

  override getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    return this.retry('getRange', name, opts?.signal, () => this.inner.getRange(name, offset, length, opts));
  }

  override exists(name: string, opts?: CallOptions): Promise<boolean> {
    return this.retry('exists', name, opts?.signal, () => this.inner.exists(name, opts));
  }

  override size(name: string, opts?: CallOptions): Promise<number> {
    return this.retry('size', name, opts?.signal, () => this.inner.size(name, opts));
  }

  override list(prefix: string, opts?: CallOptions): Promise<ObjectInfo[]> {
    return this.retry('list', prefix, opts?.signal, () => this.inner.list(prefix, opts));
  }

  override delete(name: string, opts?: CallOptions): Promise<void> {
    return this.retry('delete', name, opts?.signal, () => this.inner.delete(name, opts));
  }

  override openAtomic(_prefixHint: string): AtomicWrite {
    return bufferedWrite((name, parts, opts) => this.put(name, parts, opts));
  }

  override removeUnfinished(prefix: string, scope?: 'all' | 'own'): Promise<number> {
    return this.retry('removeUnfinished', prefix, undefined, () => this.inner.removeUnfinished(prefix, scope));
  }
}
