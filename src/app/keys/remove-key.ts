import { removeKeyFile } from '../../repo/index.js';
import type { AppContext } from '../context.js';
import { withKeys } from './key-session.js';

export interface RemoveKeyResult {
  repository: string;
  removed: string;
}

/** `prism key remove ID`: never the key in use, nor the last key of the current master key. */
export function removeKey(ctx: AppContext, opts: { id: string }): Promise<RemoveKeyResult> {
  return withKeys(ctx, 'prism key remove', async (repo) => {
    const removed = await removeKeyFile(repo, opts.id.toLowerCase());
    ctx.logger.info({ event: 'key.removed', key: removed }, `removed key ${removed}`);
    return { repository: repo.location, removed };
  });
}
