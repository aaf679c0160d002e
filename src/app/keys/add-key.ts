import type { PasswordSource } from '../../core/password-source.js';
import { addKeyFile, type Repository } from '../../repo/index.js';
import type { AppContext } from '../context.js';
import { newKeyParams, readNewPassword, withKeys } from './key-session.js';

export interface AddKeyResult {
  repository: string;
  id: string;
  generation: number;
}

/** `prism key add`: a new key file for the current master key, under a new password. */
export function addKey(ctx: AppContext, opts: { newPassword: PasswordSource }): Promise<AddKeyResult> {
  return withKeys(ctx, 'prism key add', (repo) => addKeyTo(ctx, repo, opts.newPassword));
}

/** Adds the key file to an open (and locked) repository: the first step of `passwd` and the last of `import`. */
export async function addKeyTo(ctx: AppContext, repo: Repository, newPassword: PasswordSource): Promise<AddKeyResult> {
  const password = await readNewPassword(newPassword, repo.location);
  try {
    const id = await addKeyFile(repo, password, await newKeyParams(ctx), ctx.clock.now());
    const generation = repo.unlocked!.generation;
    ctx.logger.info({ event: 'key.added', key: id, generation }, `added key ${id}`);
    return { repository: repo.location, id, generation };
  } finally {
    password.fill(0);
  }
}
