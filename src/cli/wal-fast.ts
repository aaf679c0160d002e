import { resolve } from 'node:path';
import { archivedAhead, walSpoolSettings } from '../app/pitr/postgres/wal-spool.js';
import { loadConfig } from '../config/load-config.js';
import { isRemoteLocation } from '../core/remote-location.js';

/**
 * The lean start of `prism pg archive-wal PATH [--repo R] [--spool-dir D]` (bin/prism.js loads
 * this before the whole CLI): when the background push has already stored PATH (see
 * archivedAhead), the call is done without loading the commands, the logger or the repository —
 * most calls under load. Anything else (another flag, a config error, no mark) returns false and
 * the whole CLI runs the command as usual.
 */
export async function archiveWalFast(argv: readonly string[]): Promise<boolean> {
  if (argv[2] !== 'pg' || argv[3] !== 'archive-wal') return false;
  let path: string | undefined;
  let repo: string | undefined;
  let spoolDir: string | undefined;
  const args = argv.slice(4);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if ((a === '--repo' || a === '--spool-dir') && i + 1 < args.length) {
      if (a === '--repo') repo = args[++i];
      else spoolDir = args[++i];
    } else if (!a.startsWith('-') && path === undefined) path = a;
    else return false;
  }
  if (path === undefined) return false;
  try {
    const config = loadConfig(process.env);
    const copy = repo === undefined ? undefined : config.copies.find((c) => c.name === repo);
    const storagePath = repo === undefined ? config.storagePath : (copy?.location ?? (isRemoteLocation(repo) ? repo : resolve(repo)));
    return await archivedAhead(walSpoolSettings({ config }, { spoolDir }), storagePath, path);
  } catch {
    return false;
  }
}
