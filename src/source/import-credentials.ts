import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DbTarget } from './import-url.js';

/**
 * Passes a password to a native client through a temporary 0600 file (PGPASSFILE, or a MySQL
 * option file for --defaults-extra-file), never on the command line or in the environment.
 * Private to import until the shared db-credentials helper lands.
 */
export interface ClientCredentials {
  /** Extra arguments that must come first on the client's command line. */
  leadingArgs: string[];
  env: Record<string, string>;
  dispose(): void;
}

export function clientCredentials(t: DbTarget): ClientCredentials {
  const dir = mkdtempSync(join(tmpdir(), 'prism-cred-'));
  const file = join(dir, t.type === 'postgres' ? 'pgpass' : 'my.cnf');
  const dispose = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    if (t.type === 'postgres') {
      const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
      writeFileSync(file, t.password === undefined ? '' : `${esc(t.host)}:${t.port}:${esc(t.database)}:${esc(t.user)}:${esc(t.password)}\n`, { mode: 0o600 });
      return { leadingArgs: [], env: { PGPASSFILE: file }, dispose };
    }
    const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
    writeFileSync(file, `[client]\nuser="${esc(t.user)}"\n${t.password === undefined ? '' : `password="${esc(t.password)}"\n`}`, { mode: 0o600 });
    return { leadingArgs: [`--defaults-extra-file=${file}`], env: {}, dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}
