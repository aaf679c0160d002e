import { passwordFromFile } from '../../config/index.js';
import type { PasswordSource } from '../../core/password-source.js';

/** The password source of a copy with a key of its own: its password_file, read once. */
export function copyPassword(file: string): PasswordSource {
  let read: Promise<Buffer> | undefined;
  return { origin: `password_file (${file})`, read: () => (read ??= passwordFromFile(file, 'the copy')) };
}
