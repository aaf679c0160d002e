import { calibrateScrypt, type ScryptParams } from '../../codec/master-key.js';
import type { PasswordSource } from '../../core/password-source.js';
import { PrismError } from '../../errors/index.js';
import type { Repository } from '../../repo/index.js';
import { lockRepository, openRepository, type AppContext } from '../context.js';

/**
 * Opens the encrypted repository with the password (ctx.password) and runs `fn` under a shared lock,
 * so that key commands never interleave with a `prism key rotate` (which holds the repository
 * exclusively). An unencrypted repository is KEY_REFUSED.
 */
export async function withKeys<T>(ctx: AppContext, command: string, fn: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await openRepository(ctx);
  return underKeyLock(ctx, repo, command, fn);
}

export async function underKeyLock<T>(ctx: AppContext, repo: Repository, command: string, fn: (repo: Repository) => Promise<T>): Promise<T> {
  if (!repo.crypt.encrypted) throw notEncrypted(repo.location);
  const lock = await lockRepository(ctx, repo, 'shared', command);
  try {
    return await fn(repo);
  } finally {
    await lock.release();
  }
}

export function notEncrypted(location: string): PrismError {
  return new PrismError(
    'KEY_REFUSED',
    `The repository at ${location} is not encrypted: it has no keys. Encryption is chosen when a repository is created (\`prism init --encrypt\`, or backup.encryption.enabled before the first backup).`,
    { path: location },
  );
}

/** A new key's password: asked twice on a terminal; an empty one is refused. */
export async function readNewPassword(source: PasswordSource, location: string): Promise<Buffer> {
  const password = await source.read(`New password for the repository at ${location}: `, { confirm: true });
  if (password.length === 0)
    throw new PrismError('PASSWORD_SOURCE', `The new password (from ${source.origin}) is empty; nothing was changed.`, { source: source.origin });
  return password;
}

/** Key-derivation parameters of a new key file: ctx.kdf, else calibrated to this machine. */
export function newKeyParams(ctx: AppContext): Promise<ScryptParams> {
  return ctx.kdf ? Promise.resolve(ctx.kdf) : calibrateScrypt();
}
