/** Test helpers for encrypted repositories. */
import type { AppContext } from '../app/context.js';
import { openRepository } from '../app/context.js';
import type { ScryptParams } from '../codec/master-key.js';
import type { PasswordSource } from '../core/password-source.js';
import type { Repository } from '../repo/index.js';
import { appContext, type Sandbox } from './fixtures.js';

export const TEST_PASSWORD = 'correct horse battery staple';
/** The smallest scrypt parameters prism accepts: fast enough for tests. */
export const FAST_KDF: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };

export function passwordOf(password: string): PasswordSource {
  return { origin: 'the test', read: async () => Buffer.from(password) };
}

/** appContext with a password and fast key derivation. */
export function encryptedContext(sb: Sandbox, password = TEST_PASSWORD, env: Record<string, string> = {}): AppContext {
  return { ...appContext(sb, env), password: passwordOf(password), kdf: FAST_KDF };
}

/** Creates the sandbox's repository, encrypted. */
export async function initEncrypted(sb: Sandbox, password = TEST_PASSWORD): Promise<Repository> {
  return openRepository(encryptedContext(sb, password), { create: true, encrypt: true });
}
