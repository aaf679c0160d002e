import { lockRepository, openRepository, type AppContext } from '../context.js';
import { pruneLocked, type PruneOptions, type PruneReport } from './prune-repository.js';

/** `prism backup prune`: prune alone, under the exclusive lock. */
export async function pruneRepository(ctx: AppContext, opts: PruneOptions & { lockWaitMs?: number }): Promise<PruneReport> {
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'exclusive', 'prism backup prune', opts.lockWaitMs ?? 0);
  try {
    return await pruneLocked(ctx, repo, opts);
  } finally {
    await lock.release();
  }
}
