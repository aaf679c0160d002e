import { randomBytes } from 'node:crypto';
import { hostTag } from './host-tag.js';
import { processAlive } from '../core/process-alive.js';

/*
 * Temporary names of unfinished writes (local disk and SFTP): `.tmp-<host tag>-<pid>-<16 hex>`
 * in the folder of the object, so `removeUnfinished('own')` can tell this host's dead writers'
 * files from those of live processes (a concurrent `pg archive-wal`) and of other hosts.
 */

export const TEMP_PREFIX = '.tmp-';
const OWNED_TEMP = /^\.tmp-([0-9a-f]{8})-(\d+)-[0-9a-f]{16}$/;

/** A fresh temporary file name (no folder). */
export function tempBaseName(): string {
  return `${TEMP_PREFIX}${hostTag()}-${process.pid}-${randomBytes(8).toString('hex')}`;
}

export const isTempName = (base: string): boolean => base.startsWith(TEMP_PREFIX);

/** Whether a temporary file may be removed while other processes may be writing theirs: this process's, or a dead process's of this host. */
export function removableAsOwn(base: string): boolean {
  const m = OWNED_TEMP.exec(base);
  if (!m || m[1] !== hostTag()) return false;
  const pid = Number(m[2]);
  return pid === process.pid || !processAlive(pid);
}
