import type { Backend } from '../backend.js';
import { displayLocation, type Location } from '../location.js';
import { isStoreError } from '../store-error.js';
import { AzureBackend, type AzureTuning } from './azure-backend.js';
import { azureAccess } from './azure-env.js';
import { stallMilliseconds } from '../stall-setting.js';
import { RefusedBackend } from './refused-backend.js';

export { AzureBackend, type AzureTuning } from './azure-backend.js';

/** A backend that can say how many HTTP requests each operation has sent. */
export type CountingBackend = Backend & { requestCounts(): Record<string, number>; close(): Promise<void> };

/**
 * The backend of an `azure:` location, with credentials from the environment (azure-env.ts).
 * Synchronous and without network I/O. Missing or mismatched credentials do not throw here: every call of the backend fails with that
 * permanent StoreError, which names the variables to set.
 */
export function openAzureBackend(loc: Location, env: NodeJS.ProcessEnv, tuning?: AzureTuning): CountingBackend {
  if (loc.kind !== 'azure') throw new Error(`openAzureBackend: not an azure location (${loc.kind})`);
  const location = displayLocation(loc);
  try {
    return new AzureBackend(loc, azureAccess(loc, env, location), location, stallMilliseconds(env), tuning);
  } catch (e) {
    if (isStoreError(e, 'permanent')) return new RefusedBackend(e);
    throw e;
  }
}
