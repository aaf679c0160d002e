import type { PasswordSource } from '../core/password-source.js';
import { PrismError } from '../errors/index.js';

/**
 * Where a new key's password comes from: --new-password-file FILE, else the terminal (asked twice).
 * Without either: PASSWORD_MISSING at once, before the repository is opened.
 */
export async function newPasswordSource(file: string | undefined): Promise<PasswordSource> {
  if (file !== undefined) {
    const { passwordFromFile } = await import('../config/index.js');
    return { origin: `--new-password-file (${file})`, read: () => passwordFromFile(file, '--new-password-file') };
  }
  if (process.stdin.isTTY === true && process.stderr.isTTY === true) {
    return {
      origin: 'terminal prompt',
      read: async (question) => (await import('./password-prompt.js')).promptPassword(question ?? 'New password: ', { confirm: true }),
    };
  }
  throw new PrismError(
    'PASSWORD_MISSING',
    'No new password given: pass --new-password-file FILE (a file holding only the new password, chmod 600), or run the command in a terminal to be asked (twice).',
    { source: '--new-password-file' },
  );
}
