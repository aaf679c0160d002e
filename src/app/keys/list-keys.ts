import { listKeyFiles, type KeyList } from '../../repo/index.js';
import type { AppContext } from '../context.js';
import { withKeys } from './key-session.js';

export interface KeyListReport extends KeyList {
  repository: string;
}

/** `prism key list`: every key file, its state, its key-derivation cost, and which one opened the repository. */
export function listKeys(ctx: AppContext): Promise<KeyListReport> {
  return withKeys(ctx, 'prism key list', async (repo) => ({ repository: repo.location, ...(await listKeyFiles(repo)) }));
}
