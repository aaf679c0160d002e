import { repositoryBytes, storageSpace } from '../../repo/index.js';
import type { AppContext } from '../context.js';

export interface RepositorySpace {
  /** Bytes of every file in the repository directory (0 while it does not exist). */
  repository_bytes: number;
  /** The filesystem holding the repository (or its nearest existing parent); null where it cannot be asked. */
  disk: { free: number; total: number; used_percent: number } | null;
}

/** How much the repository takes and how much room its disk has left; cheap enough for every metrics scrape. */
export async function repositorySpace(ctx: AppContext): Promise<RepositorySpace> {
  const space = (await storageSpace(ctx.config.storagePath).catch(() => undefined)) ?? null;
  return {
    repository_bytes: await repositoryBytes(ctx.config.storagePath).catch(() => 0),
    disk: space ? { ...space, used_percent: space.total > 0 ? ((space.total - space.free) / space.total) * 100 : 0 } : null,
  };
}
