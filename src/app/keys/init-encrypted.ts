import { repositoryKind } from '../../repo/index.js';
import { openRepository, type AppContext } from '../context.js';

export interface InitRepositoryResult {
  path: string;
  /** False: a repository was there already (nothing was changed). */
  created: boolean;
  encrypted: boolean;
  /** The first key's id (when created). */
  key_id?: string;
}

/**
 * `prism init --encrypt`: creates the encrypted repository at backup.storage_path, its password from
 * ctx.password (asked twice on a terminal). An existing repository, encrypted or not, is left as it is.
 */
export async function initEncryptedRepository(ctx: AppContext): Promise<InitRepositoryResult> {
  const path = ctx.config.storagePath;
  const kind = await repositoryKind(path);
  if (kind !== 'none') return { path, created: false, encrypted: kind === 'encrypted' };
  const repo = await openRepository(ctx, { create: true, encrypt: true });
  if (!repo.created) return { path, created: false, encrypted: repo.crypt.encrypted };
  return { path, created: true, encrypted: true, ...(repo.unlocked?.keyId ? { key_id: repo.unlocked.keyId } : {}) };
}

/** Whether a repository is at backup.storage_path and whether it is encrypted (for `prism init`'s hint; undefined when its config is unreadable). */
export async function repositoryState(ctx: AppContext): Promise<'none' | 'unencrypted' | 'encrypted' | undefined> {
  return repositoryKind(ctx.config.storagePath).catch(() => undefined);
}
