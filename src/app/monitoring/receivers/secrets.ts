import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';

/**
 * A secret given inline, in a file (its first line; relative to PRISM_HOME) or in an environment
 * variable. A named file or variable that is missing is an error naming the key, never the value.
 */
export function readSecret(
  receiver: string,
  key: string,
  given: { value?: string | undefined; file?: string | undefined; env?: string | undefined },
  home: string,
  env: NodeJS.ProcessEnv = process.env,
): string | undefined {
  if (given.value !== undefined) return given.value;
  if (given.file !== undefined) {
    const path = isAbsolute(given.file) ? given.file : resolve(home, given.file);
    try {
      return readFileSync(path, 'utf8').split(/\r?\n/)[0]!;
    } catch (e) {
      throw new Error(`receiver ${receiver}: ${key}_file ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (given.env !== undefined) {
    const v = env[given.env];
    if (v === undefined || v === '') throw new Error(`receiver ${receiver}: ${key}_env names ${given.env}, which is not set in the environment`);
    return v;
  }
  return undefined;
}
