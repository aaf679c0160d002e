import { createHash } from 'node:crypto';
import { isPrismError } from '../../errors/index.js';
import type { Repository } from '../../repo/index.js';
import { openRepository, type AppContext } from '../context.js';

/**
 * A function that returns a short text which changes whenever a backup appears, goes or has its
 * manifest rewritten (names and sizes of the manifests; none is read; while the
 * snapshots folder keeps its version, not even the folder is listed). The repository is opened
 * once, at the first call; "" while there is none.
 */
export function backupListSignature(ctx: AppContext): () => Promise<string> {
  let repo: Repository | undefined;
  /** The last signature, with the version of the snapshots folder it was listed at. */
  let last: { version: string; signature: string } | undefined;
  return async () => {
    try {
      repo ??= await openRepository(ctx);
    } catch (e) {
      if (isPrismError(e) && e.code === 'REPO_NOT_FOUND') return '';
      throw e;
    }
    // the folder unchanged since the last listing: the same names (one stat instead of a listing of every manifest)
    const version = await repo.manifestListVersion();
    if (version !== undefined && last?.version === version) return last.signature;
    const names = (await repo.manifestNames()).map((o) => `${o.name}\t${o.size}`).sort();
    const signature = createHash('sha256').update(names.join('\n')).digest('hex');
    last = version === undefined ? undefined : { version, signature };
    return signature;
  };
}
