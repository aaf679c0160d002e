/**
 * Azure's answers as StoreErrors: a missing blob is ObjectNotFoundError; a missing container,
 * refused credentials and malformed requests are permanent (with what to do); busy or failing
 * servers, throttling, resets, timeouts and bodies damaged in transit are transient, for the
 * RetryingBackend above to retry (the SDK's own retries are off).
 */
import { isStoreError, isTransientNetworkError, ObjectNotFoundError, StoreError } from '../store-error.js';

/** What a message needs to say what to do. */
export interface AzureErrorContext {
  store: string;
  account: string;
  container: string;
  /** What to check when the credentials are refused (azure-env.ts credentialHint). */
  credentialHint: string;
  /** The object the call was about (for ObjectNotFoundError). */
  objectName?: string;
  /** The call, for messages ("put data/ab/ab12…"). */
  what?: string;
  /** The call was a delete: a permission refused then means credentials that may add but not delete. */
  deleting?: boolean;
}

interface RestErrorLike {
  name?: string;
  message?: string;
  code?: unknown;
  statusCode?: number;
  details?: { errorCode?: string };
  response?: { headers?: { get(name: string): string | undefined }; parsedHeaders?: { errorCode?: string } };
}

/** Azure's error code (x-ms-error-code: BlobNotFound, ContainerNotFound, ServerBusy …), or the errno of a network error. */
export function azureErrorCode(e: unknown): string | undefined {
  const err = e as RestErrorLike | undefined;
  if (!err || typeof err !== 'object') return undefined;
  const code = err.response?.headers?.get('x-ms-error-code') ?? err.response?.parsedHeaders?.errorCode ?? err.details?.errorCode;
  if (code) return code;
  return typeof err.code === 'string' ? err.code : undefined;
}

const TRANSIENT_CODES = new Set(['ServerBusy', 'OperationTimedOut', 'InternalError', 'Md5Mismatch', 'Crc64Mismatch', 'REQUEST_SEND_ERROR', 'ESOCKETTIMEDOUT']);
const CREDENTIAL_CODES = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationServiceMismatch',
  'AuthorizationSourceIPMismatch',
  'AuthorizationProtocolMismatch',
  'InvalidAuthenticationInfo',
  'InsufficientAccountPermissions',
  'AccountIsDisabled',
]);

/** The StoreError (or ObjectNotFoundError) for an error of the Azure SDK or of the network below it. */
export function azureStoreError(e: unknown, ctx: AzureErrorContext): Error {
  if (isStoreError(e)) return e;
  const err = (e ?? {}) as RestErrorLike;
  const status = typeof err.statusCode === 'number' ? err.statusCode : undefined;
  const code = azureErrorCode(e);
  const said = [status, code].filter((x) => x !== undefined).join(' ');
  const detail = `${said ? `${said}: ` : ''}${firstLine(err.message)}`;
  const of = ctx.what ? `${ctx.what}: ` : '';
  const permanent = (why: string): StoreError => new StoreError('permanent', ctx.store, why, { cause: e, objectName: ctx.objectName });
  const transient = (why: string): StoreError => new StoreError('transient', ctx.store, `${of}${why}`, { cause: e, objectName: ctx.objectName });

  if (ctx.objectName !== undefined && (code === 'BlobNotFound' || (status === 404 && code === undefined))) {
    return new ObjectNotFoundError(ctx.objectName, ctx.store);
  }
  if (code === 'ContainerNotFound') {
    return permanent(
      `the container ${ctx.container} does not exist in the storage account ${ctx.account}: create the container first ` +
        `(az storage container create --name ${ctx.container} --account-name ${ctx.account}), or correct the location`,
    );
  }
  if (code === 'ContainerBeingDeleted') return transient(`the container ${ctx.container} is being deleted (${detail})`);
  if (ctx.deleting && (code === 'AuthorizationPermissionMismatch' || code === 'AuthorizationFailure')) {
    return new StoreError(
      'permanent',
      ctx.store,
      `${of}the credentials may not delete blobs in the container ${ctx.container} (${detail}): they can add and read (a SAS without d serves backups and verify); ` +
        'prune, cleanup and backup delete need credentials that may delete (the account key, or a SAS with d)',
      { cause: e, objectName: ctx.objectName, denied: true },
    );
  }
  if (status === 403 || (code !== undefined && CREDENTIAL_CODES.has(code))) {
    return permanent(`Azure refused the credentials for the storage account ${ctx.account} (${detail}): ${ctx.credentialHint}`);
  }
  // A body that arrived different from what was sent (Azure: Md5Mismatch; Azurite: InvalidOperation):
  // damaged on the way, so sending it again may succeed.
  if (code === 'InvalidOperation' && /md5/i.test(err.message ?? '')) return transient(`the upload arrived damaged (${detail})`);
  if ((status !== undefined && (status >= 500 || status === 429 || status === 408)) || (code !== undefined && TRANSIENT_CODES.has(code))) {
    return transient(`Azure answered ${detail}`);
  }
  if (isTransientNetworkError(e)) return transient(`the connection failed (${detail})`);
  if (code === 'ENOTFOUND') return permanent(`no such host (${detail}): check the account name, AZURE_STORAGE_ENDPOINT or BlobEndpoint=`);
  // The SDK's download stream ended before the length it announced (a connection closed mid-body).
  if (/Data corruption failure/.test(err.message ?? '')) return transient(`the download ended early (${firstLine(err.message)})`);
  if (err.name === 'AbortError') return transient(`the request was cut off (${firstLine(err.message)})`);
  return permanent(`${of}Azure answered ${detail || String(e)}`);
}

/** The first line of a message (Azure's carry a RequestId and a Time on the next lines). */
function firstLine(message: string | undefined): string {
  return (message ?? '').split('\n')[0]!.trim();
}
