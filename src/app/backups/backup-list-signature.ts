import { createHash } from 'node:crypto';
import { isPrismError } from '../../errors/index.js';
import type { Repository } from '../../repo/index.js';
import { openRepository, type AppContext } from '../context.js';

/**
 * A function that returns a short text which changes whenever a backup appears, goes or has its
 * manifest rewritten (names and sizes of the manifests; none is read). The repository is opened
 * once, at the first call; "" while there is none.
 */
export function backupListSignature(ctx: AppContext): () => Promise<string> {
  let repo: Repository | undefined;
  return async () => {
    try {
      repo ??= await openRepository(ctx);
    } catch (e) {
      if (isPrismError(e) && e.code === 'REPO_NOT_FOUND') return '';
      throw e;
    }
    const names = (await repo.manifestNames()).map((o) => `${o.name}\t${o.size}`).sort();
    return createHash('sha256').update(names.join('\n')).digest('hex');
  };
}
