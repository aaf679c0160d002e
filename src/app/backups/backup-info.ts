import { PrismError } from '../../errors/index.js';
import type { Manifest } from '../../repo/index.js';
import { openRepository, type AppContext } from '../context.js';
import { interrupted } from './list-backups.js';

export const BACKUP_ID_PATTERN = /^backup_\d{8}_\d{6}_(full|incremental)(_\d+)?$/;

/** Refuses what is not a backup id before the repository is read. */
export function checkBackupId(id: string): void {
  if (!BACKUP_ID_PATTERN.test(id)) {
    throw new PrismError('BACKUP_NOT_FOUND', `"${id}" is not a backup id (ids look like backup_20260207_020015_full); run \`prism backup list\`.`, { id });
  }
}

/** One backup by id. */
export async function backupInfo(ctx: AppContext, id: string): Promise<Manifest> {
  checkBackupId(id);
  const repo = await openRepository(ctx);
  const m = await repo.loadManifest(id);
  return m.status === 'running' && !(await repo.backupLockHeld(m.host)) ? interrupted(m) : m;
}

/** What `prism db list --json` prints for a backup: its databases with their tables (rows, bytes). */
export function databasesOf(m: Manifest): { backup: string; databases: NonNullable<Manifest['databases']> } {
  return { backup: m.id, databases: m.databases ?? [] };
}
