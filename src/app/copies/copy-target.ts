import { resolve } from 'node:path';
import type { CopyTarget, ResolvedConfig } from '../../config/index.js';
import { isRemoteLocation } from '../../core/remote-location.js';
import { PrismError } from '../../errors/index.js';

/**
 * The copy `nameOrLocation` names: a copy of backup.copies by its name, else a repository location
 * given as it is (a path, or s3:/azure:/sftp:), which gets the primary's retention.
 */
export function copyTarget(config: ResolvedConfig, nameOrLocation: string): CopyTarget {
  const named = config.copies.find((c) => c.name === nameOrLocation);
  if (named) return named;
  if (isRemoteLocation(nameOrLocation) || /[/\\]|^[.~]/.test(nameOrLocation)) {
    const location = isRemoteLocation(nameOrLocation) ? nameOrLocation : resolve(nameOrLocation);
    if (location === config.storagePath) {
      throw new PrismError('INVALID_ARGUMENT', `${location} is the primary repository itself: a copy goes somewhere else.`, { path: location });
    }
    return locationTarget(config, location);
  }
  const names = config.copies.map((c) => c.name);
  throw new PrismError(
    'INVALID_ARGUMENT',
    `No copy named "${nameOrLocation}" in backup.copies (${names.length > 0 ? `configured: ${names.join(', ')}` : 'none configured'}); give a configured name, or a path or location (./dir, /mnt/disk/prism, s3:https://host/bucket/prefix).`,
    { copy: nameOrLocation },
  );
}

/** A repository at `location` used as a copy without being one of backup.copies: the primary's retention and keys, no lock. */
export function locationTarget(config: ResolvedConfig, location: string): CopyTarget {
  return {
    name: location,
    location,
    afterBackup: false,
    schedule: undefined,
    passwordFile: undefined,
    objectLock: undefined,
    keep: config.backup.retention_policy,
  };
}
