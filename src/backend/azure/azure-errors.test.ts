/** Azure's error codes as StoreError kinds, for the codes a local Azurite does not answer with. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestError } from '@azure/storage-blob';
import { ObjectNotFoundError } from '../store-error.js';
import { azureStoreError } from './azure-errors.js';

const ctx = { store: 'azure:c:/p', account: 'acct', container: 'c', credentialHint: 'check the key', objectName: 'data/00/0001', what: 'put data/00/0001' };

/** A RestError as the SDK makes it from an answer with an x-ms-error-code header. */
function answered(statusCode: number, code: string): RestError {
  const headers = new Map([['x-ms-error-code', code]]);
  return new RestError(`${code} message\nRequestId:1\nTime:now`, { statusCode, response: { headers: { get: (n: string) => headers.get(n) } } as never });
}

describe('Azure errors as StoreErrors', () => {
  it('kinds by code', () => {
    const kinds: [RestError | Error, string][] = [
      [answered(400, 'Md5Mismatch'), 'transient'],
      [answered(503, 'ServerBusy'), 'transient'],
      [answered(500, 'OperationTimedOut'), 'transient'],
      [answered(429, 'TooManyRequests'), 'transient'],
      [answered(409, 'ContainerBeingDeleted'), 'transient'],
      [answered(403, 'AuthenticationFailed'), 'permanent'],
      [answered(403, 'AuthorizationPermissionMismatch'), 'permanent'],
      [answered(404, 'ContainerNotFound'), 'permanent'],
      [answered(400, 'InvalidHeaderValue'), 'permanent'],
      [answered(409, 'LeaseIdMissing'), 'permanent'],
      [new RestError('getaddrinfo ENOTFOUND acct.blob.core.windows.net', { code: 'ENOTFOUND' }), 'permanent'],
      [new RestError('socket hang up', { code: 'ECONNRESET' }), 'transient'],
      [new Error('Data corruption failure: received less data than required and reached maxRetires limitation.'), 'transient'],
    ];
    for (const [e, kind] of kinds) assert.equal((azureStoreError(e, ctx) as { kind?: string }).kind, kind, e.message);
  });

  it('a missing blob is ObjectNotFoundError; messages keep only the first line of Azure’s', () => {
    assert.ok(azureStoreError(answered(404, 'BlobNotFound'), ctx) instanceof ObjectNotFoundError);
    assert.equal(azureStoreError(answered(503, 'ServerBusy'), ctx).message, 'put data/00/0001: Azure answered 503 ServerBusy: ServerBusy message');
    assert.match(
      azureStoreError(answered(403, 'AuthenticationFailed'), ctx).message,
      /^Azure refused the credentials for the storage account acct \(403 AuthenticationFailed: AuthenticationFailed message\): check the key$/,
    );
  });
});
