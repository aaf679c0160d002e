/**
 * Top-level names in a restore target that start with this are prism's own working files (the
 * swap journal, staging and trash folders): never backed up, never restored over.
 */
export const RESTORE_WORK_PREFIX = '.prism-restore';

export function isRestoreWorkName(name: string): boolean {
  return name.startsWith(RESTORE_WORK_PREFIX);
}

/** Top-level entries of the data directory that belong to prism at run time: a restore into it leaves them as they are. */
export const PRISM_RUNTIME_NAMES: readonly string[] = ['logs', 'state', 'run', 'prism.pid', 'prism-service.json'];
