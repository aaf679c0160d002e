import type { CopyTarget } from '../../config/index.js';
import type { AppContext } from '../context.js';
import { copyPassword } from './copy-password.js';

/**
 * The context of a command that works on the copy `target` instead of the primary: its location as
 * the repository, its own retention (`keep`) as the retention policy, and for a copy with a key of
 * its own (`password_file`) its password; one that shares the primary's keys opens with the
 * primary's. The copy has no copies of its own.
 */
export function copyContext(ctx: AppContext, target: Pick<CopyTarget, 'name' | 'location' | 'keep' | 'passwordFile' | 'objectLock'>): AppContext {
  const password = target.passwordFile !== undefined ? copyPassword(target.passwordFile) : ctx.password;
  return {
    ...ctx,
    ...(password ? { password } : {}),
    config: {
      ...ctx.config,
      storagePath: target.location,
      objectLock: target.objectLock,
      backup: { ...ctx.config.backup, retention_policy: target.keep },
      copies: [],
    },
    copy: target.name,
  };
}
