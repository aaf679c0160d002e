import { accessSync, constants, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The WAL launcher built beside this prism (dist/cli/wal-launcher/prism-wal, made by
 * scripts/build-native.mjs where a C compiler is found), by the real path of bin/prism.js;
 * undefined when it was not built.
 */
export function walLauncherPath(prismPath: string): string | undefined {
  try {
    const p = join(dirname(realpathSync(prismPath)), '..', 'dist', 'cli', 'wal-launcher', 'prism-wal');
    accessSync(p, constants.X_OK);
    return p;
  } catch {
    return undefined;
  }
}
