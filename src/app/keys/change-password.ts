import type { PasswordSource } from '../../core/password-source.js';
import { removeKeyFile } from '../../repo/index.js';
import type { AppContext } from '../context.js';
import { addKeyTo } from './add-key.js';
import { withKeys } from './key-session.js';

export interface ChangePasswordResult {
  repository: string;
  added: string;
  removed: string;
}

/**
 * `prism key passwd`: a key file with the new password is added, then the one the repository was
 * opened with is removed. A crash between the two leaves both passwords working (run it again, or
 * remove the old key with `prism key remove`).
 */
export function changePassword(ctx: AppContext, opts: { newPassword: PasswordSource }): Promise<ChangePasswordResult> {
  return withKeys(ctx, 'prism key passwd', async (repo) => {
    const old = repo.unlocked!.keyId!;
    const { id } = await addKeyTo(ctx, repo, opts.newPassword);
    const removed = await removeKeyFile(repo, old, { inUse: true });
    ctx.logger.info({ event: 'key.removed', key: removed, replaced_by: id }, `removed key ${removed} (password changed)`);
    return { repository: repo.location, added: id, removed };
  });
}
