import { PrismError } from '../errors/index.js';

/**
 * What went wrong with a call to a store, in the terms a caller acts on:
 * - `not-found`: the object (or the bucket, container or folder) does not exist;
 * - `exists`: a conditional create met an existing object;
 * - `transient`: worth retrying (5xx, 429/503 SlowDown, a reset or timed-out connection);
 * - `protected`: the object is under retention (S3 Object Lock, a legal hold): the store refuses
 *   to delete it until `retainUntil` (undefined for a legal hold, which has no end date);
 * - `permanent`: retrying cannot help (bad credentials, access denied, a malformed request).
 *   `denied` marks a refusal for want of a permission the credentials lack (e.g. to delete).
 */
export type StoreErrorKind = 'not-found' | 'exists' | 'transient' | 'protected' | 'permanent';

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    /** The store, for messages (a path or a URL without credentials). */
    readonly store: string,
    message: string,
    options?: { cause?: unknown; objectName?: string; retainUntil?: Date; denied?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.objectName = options?.objectName;
    this.retainUntil = options?.retainUntil;
    this.denied = options?.denied ?? false;
  }

  readonly objectName: string | undefined;
  /** Of a `protected` refusal: until when the object is retained. */
  readonly retainUntil: Date | undefined;
  /** The credentials lack the permission the call needed (a `permanent` refusal). */
  readonly denied: boolean;
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
  return new PrismError(
    'STORE_REFUSED',
    `The repository store ${err.store} refused: ${err.message}`,
    { store: err.store, ...(err.denied ? { denied: true } : {}), ...(err.objectName !== undefined ? { object: err.objectName } : {}) },
    { cause: err },
  );
}

/** A delete the store refused because the object is under retention: protection at work, not damage. */
export function objectRetained(err: StoreError): PrismError {
  const name = err.objectName ?? 'an object';
  const until = err.retainUntil;
  return new PrismError(
    'OBJECT_RETAINED',
    `${name} in ${err.store} is retained ${until ? `until ${until.toISOString()}` : 'by a legal hold'} (object lock): the store refuses to delete it before then. This is the repository's protection, not damage: nothing is lost.`,
    { store: err.store, object: name, retain_until: until?.toISOString() ?? null },
    { cause: err },
  );
}

/** True for a refusal for want of a permission (STORE_REFUSED of a `denied` StoreError, or that StoreError). */
export function isDenied(e: unknown): boolean {
  if (e instanceof StoreError) return e.kind === 'permanent' && e.denied;
  return e instanceof PrismError && e.code === 'STORE_REFUSED' && e.details.denied === true;
}
