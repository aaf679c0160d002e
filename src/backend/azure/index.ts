import type { Backend } from '../backend.js';
import { displayLocation, type Location } from '../location.js';
import { AzureBackend, type AzureTuning } from './azure-backend.js';
import { azureAccess, stallMilliseconds } from './azure-env.js';

export { AzureBackend, type AzureTuning } from './azure-backend.js';

/**
 * The backend of an `azure:` location, with credentials from the environment (azure-env.ts).
 * Synchronous and without network I/O; missing or mismatched credentials throw a permanent StoreError.
 */
export function openAzureBackend(loc: Location, env: NodeJS.ProcessEnv, tuning?: AzureTuning): AzureBackend & Backend {
  if (loc.kind !== 'azure') throw new Error(`openAzureBackend: not an azure location (${loc.kind})`);
  const location = displayLocation(loc);
  return new AzureBackend(loc, azureAccess(loc, env, location), location, stallMilliseconds(env, location), tuning);
}
