import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPrismError } from '../errors/index.js';
import { DEFAULT_RETRY } from '../backend/retrying-backend.js';
import { openBackend, retryPolicyFrom } from './open-backend.js';

describe('openBackend settings', () => {
  it('PRISM_STORE_RETRY_SECONDS: a number of seconds, else CONFIG_INVALID naming it', () => {
    assert.deepEqual(retryPolicyFrom({}), DEFAULT_RETRY);
    assert.equal(retryPolicyFrom({ PRISM_STORE_RETRY_SECONDS: '20' }).maxElapsedMs, 20_000);
    for (const bad of ['soon', '-1', 'Infinity']) {
      assert.throws(
        () => retryPolicyFrom({ PRISM_STORE_RETRY_SECONDS: bad }),
        (e: unknown) => isPrismError(e) && e.code === 'CONFIG_INVALID' && e.message.includes('PRISM_STORE_RETRY_SECONDS'),
        bad,
      );
    }
  });

  it('a location of a scheme prism has no backend for is STORE_LOCATION', async () => {
    await assert.rejects(openBackend('gs:bucket/x', {}), (e: unknown) => isPrismError(e) && e.code === 'STORE_LOCATION');
  });
});
