import type { ObjectLock } from '../backend.js';
import type { Clock } from '../../core/clock.js';
import { displayLocation, type Location } from '../location.js';
import { S3Backend } from './s3-backend.js';
import { readS3Options } from './s3-options.js';

export { S3Backend } from './s3-backend.js';
export { RequestCounter } from './request-counter.js';

/**
 * The backend of an `s3:` location. Credentials come from `env` and the AWS files only
 * (credential-source.ts); PRISM_S3_PATH_STYLE, PRISM_S3_STORAGE_CLASS and
 * PRISM_STORE_STALL_SECONDS tune it (s3-options.ts); `objectLock` puts what it writes under
 * retention (s3-object-lock.ts). No network I/O until the first call.
 */
export function openS3Backend(loc: Location, env: NodeJS.ProcessEnv, opts: { objectLock?: ObjectLock; clock?: Clock } = {}): S3Backend {
  if (loc.kind !== 's3') throw new Error(`openS3Backend: not an s3 location: ${loc.kind}`);
  return new S3Backend(readS3Options(loc, env, opts.objectLock), env, displayLocation(loc), opts.clock);
}
