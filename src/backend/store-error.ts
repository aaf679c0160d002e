import { PrismError } from '../errors/index.js';

/**
 * What went wrong with a call to a store, in the terms a caller acts on:
 * - `not-found`: the object (or the bucket, container or folder) does not exist;
 * - `exists`: a conditional create met an existing object;
 * - `transient`: worth retrying (5xx, 429/503 SlowDown, a reset or timed-out connection);
 * - `permanent`: retrying cannot help (bad credentials, access denied, a malformed request).
 */
export type StoreErrorKind = 'not-found' | 'exists' | 'transient' | 'permanent';

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    /** The store, for messages (a path or a URL without credentials). */
    readonly store: string,
    message: string,
    options?: { cause?: unknown; objectName?: string },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.objectName = options?.objectName;
  }

  readonly objectName: string | undefined;
}

/** An object that is not there (a StoreError of kind `not-found`). */
export class ObjectNotFoundError extends StoreError {
  constructor(objectName: string, store = '') {
    super('not-found', store, `object not found: ${objectName}${store ? ` in ${store}` : ''}`, { objectName });
    this.name = 'ObjectNotFoundError';
  }
}

export const isStoreError = (e: unknown, kind?: StoreErrorKind): e is StoreError => e instanceof StoreError && (kind === undefined || e.kind === kind);

/** Errors of the network below any store client: a reset, refused or timed-out connection is worth retrying. */
const TRANSIENT_ERRNOS = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENOTCONN',
  'ERR_STREAM_PREMATURE_CLOSE',
]);

export function isTransientNetworkError(e: unknown): boolean {
  for (let cur = e as { code?: unknown; cause?: unknown } | undefined, depth = 0; cur && depth < 5; cur = cur.cause as typeof cur, depth++) {
    if (typeof cur.code === 'string' && TRANSIENT_ERRNOS.has(cur.code)) return true;
  }
  return false;
}

/** The error an operator sees when a store kept failing: which store, how often it was tried, the last error. */
export function storeUnavailable(err: StoreError, attempts: number, seconds: number): PrismError {
  return new PrismError(
    'STORE_UNAVAILABLE',
    `The repository store ${err.store} kept failing: ${attempts} attempts over ${seconds.toFixed(0)} s, the last: ${err.message}`,
    { store: err.store, attempts, last_error: err.message },
    { cause: err },
  );
}

/** A StoreError that retries cannot mend, as the operator's error: credentials, a missing bucket, a refused host key. */
export function storeRefused(err: StoreError): PrismError {
  return new PrismError('STORE_REFUSED', `The repository store ${err.store} refused: ${err.message}`, { store: err.store }, { cause: err });
}
