import { PrismError } from '../../errors/index.js';
import type { Manifest } from '../../repo/index.js';
import { openRepository, type AppContext } from '../context.js';
import { interrupted } from './list-backups.js';

export const BACKUP_ID_PATTERN = /^backup_\d{8}_\d{6}_(full|incremental)(_\d+)?$/;

/** One backup by id. */
export async function backupInfo(ctx: AppContext, id: string): Promise<Manifest> {
  if (!BACKUP_ID_PATTERN.test(id)) {
    throw new PrismError('BACKUP_NOT_FOUND', `"${id}" is not a backup id (ids look like backup_20260207_020015_full); run \`prism backup list\`.`, { id });
  }
  const repo = await openRepository(ctx);
  const m = await repo.loadManifest(id);
  return m.status === 'running' && !(await repo.backupLockHeld()) ? interrupted(m) : m;
}
