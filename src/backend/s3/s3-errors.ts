import { isTransientNetworkError, ObjectNotFoundError, StoreError } from '../store-error.js';
import { CREDENTIALS_HINT } from './credential-source.js';

/** What a failed call was about, for the error's message. */
export interface S3ErrorContext {
  /** The repository location for messages (no credentials in it). */
  store: string;
  bucket: string;
  endpoint: string | undefined;
  /** The object of a get, getRange or size: a 404 is then ObjectNotFoundError. */
  objectName?: string;
  /** The storage class the request asked for. */
  storageClass?: string;
  /** The call was a delete: a denial then means credentials that may add but not delete. */
  deleting?: boolean;
  /** The object a put was writing: a denial names it. */
  writing?: string;
  signal?: AbortSignal;
}

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, string | undefined> };
}

/** Answers that say the credentials themselves are wrong (as opposed to lacking a permission). */
const BAD_CREDENTIALS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidSecurity',
  'InvalidClientTokenId',
]);
/** Answers that ask to come back later. */
const THROTTLED = new Set([
  'SlowDown',
  'ServiceUnavailable',
  'InternalError',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequests',
  'OperationAborted',
]);
/** The body reached the store damaged or short (the signed SHA-256 or the length did not match): send it again. */
const DAMAGED_IN_TRANSIT = new Set(['XAmzContentSHA256Mismatch', 'BadDigest', 'IncompleteBody', 'RequestTimeout']);
/** The bucket's region differs from the one signed for (AWS). */
const WRONG_REGION = new Set(['PermanentRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException']);

/** The command that creates the bucket, for the message that asks for it. */
function makeBucketHint(bucket: string, endpoint: string | undefined): string {
  return `aws s3 mb s3://${bucket}${endpoint ? ` --endpoint-url ${endpoint}` : ''}`;
}

/**
 * An error of the SDK, of the network or of a credential provider as the error the storage contract
 * promises: the signal's reason for an aborted call, ObjectNotFoundError for a missing object, and
 * StoreErrors that are `transient` for what retrying can mend and `permanent` with what to do.
 */
export function s3Error(e: unknown, ctx: S3ErrorContext): unknown {
  if (ctx.signal?.aborted) return ctx.signal.reason;
  if (e instanceof StoreError) return e;
  const err = (e ?? {}) as SdkError;
  const status = err.$metadata?.httpStatusCode;
  const code = err.name ?? '';
  const permanent = (message: string): StoreError => new StoreError('permanent', ctx.store, message, { cause: e, objectName: ctx.objectName });
  const transient = (message: string): StoreError => new StoreError('transient', ctx.store, message, { cause: e, objectName: ctx.objectName });

  if (code === 'NoCredentialsError') return permanent(err.message ?? CREDENTIALS_HINT);
  if (code === 'ShortBodyError') return transient(`${err.message}: the connection closed early`);
  if (status === undefined) {
    // no answer from the store: the connection (or the credential provider's) failed
    if (isTransientNetworkError(e) || code === 'TimeoutError' || code === 'RequestTimeout')
      return transient(`no answer from the store: ${err.message ?? code}`);
    return permanent(err.message ?? String(e));
  }
  const what = `${code && code !== 'Unknown' ? code : 'error'} (HTTP ${status})`;
  if (code === 'NoSuchKey' || (status === 404 && code === 'NotFound' && ctx.objectName !== undefined)) {
    return ctx.objectName !== undefined ? new ObjectNotFoundError(ctx.objectName, ctx.store) : permanent(`${what}: ${err.message}`);
  }
  if (code === 'NoSuchBucket') {
    return permanent(
      `the bucket ${ctx.bucket} does not exist${ctx.endpoint ? ` at ${ctx.endpoint}` : ''}: create the bucket first (${makeBucketHint(ctx.bucket, ctx.endpoint)}), or correct the location`,
    );
  }
  if (BAD_CREDENTIALS.has(code)) return permanent(`the store refused the credentials: ${what}: ${CREDENTIALS_HINT}`);
  if (code === 'RequestTimeTooSkewed') return permanent(`${what}: this host's clock differs from the store's by more than 15 minutes: set it right (NTP)`);
  if (WRONG_REGION.has(code) || status === 301) {
    const region = err.$response?.headers?.['x-amz-bucket-region'];
    return permanent(`${what}: the bucket ${ctx.bucket} is in ${region ? `region ${region}` : 'another region'}: set AWS_REGION${region ? `=${region}` : ''}`);
  }
  if ((code === 'AccessDenied' || status === 403) && ctx.deleting) {
    return new StoreError(
      'permanent',
      ctx.store,
      `${what}: the credentials may not delete objects in the bucket ${ctx.bucket}${ctx.objectName ? ` (${ctx.objectName})` : ''}: ` +
        'they can add and read (append-only credentials serve backups and verify); prune, cleanup and backup delete need credentials with s3:DeleteObject (and s3:DeleteObjectVersion on a bucket with Object Lock)',
      { cause: e, objectName: ctx.objectName, denied: true },
    );
  }
  if ((code === 'AccessDenied' || status === 403) && ctx.writing !== undefined) {
    return new StoreError(
      'permanent',
      ctx.store,
      `${what}: the store denied writing ${ctx.writing} in the bucket ${ctx.bucket}: the credentials need s3:PutObject on it` +
        (ctx.writing.startsWith('state/')
          ? ' (prune keeps its state there: run it with the operator’s credentials, not a host’s append-only ones)'
          : ` (${CREDENTIALS_HINT})`),
      { cause: e, objectName: ctx.writing, denied: true },
    );
  }
  if (code === 'AccessDenied' || status === 403) {
    return permanent(
      `${what}: the store denied access to the bucket ${ctx.bucket}: the credentials need s3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on it (${CREDENTIALS_HINT})`,
    );
  }
  if (code === 'InvalidStorageClass' || (code === 'InvalidArgument' && ctx.storageClass !== undefined)) {
    return permanent(
      `${what}: the store refused the storage class ${ctx.storageClass ?? ''} for packs: set PRISM_S3_STORAGE_CLASS to a class it offers, or unset it`,
    );
  }
  if (code === 'InvalidObjectState') return permanent(`${what}: the object is archived (Glacier) and must be restored before it can be read`);
  if (THROTTLED.has(code) || DAMAGED_IN_TRANSIT.has(code) || status === 429 || status >= 500) return transient(`${what}: ${err.message ?? ''}`);
  return permanent(`${what}: ${err.message ?? ''}`);
}
