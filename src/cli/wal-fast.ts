import { archivedAhead, servePrefetched, walSpoolSettings } from '../app/pitr/postgres/wal-spool.js';
import { loadConfig } from '../config/load-config.js';
import { callStoragePath, recordWalPointer } from './wal-pointer.js';

/** The flags both lean starts take, and their positional arguments; undefined for anything else. */
function leanArgs(argv: readonly string[], positional: number): { args: string[]; repo?: string; spoolDir?: string; prefetch?: number } | undefined {
  const out: { args: string[]; repo?: string; spoolDir?: string; prefetch?: number } = { args: [] };
  const rest = argv.slice(4);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if ((a === '--repo' || a === '--spool-dir' || a === '--prefetch') && i + 1 < rest.length) {
      const v = rest[++i]!;
      if (a === '--repo') out.repo = v;
      else if (a === '--spool-dir') out.spoolDir = v;
      else if (/^\d{1,2}$/.test(v)) out.prefetch = Number(v);
      else return undefined;
    } else if (!a.startsWith('-') && out.args.length < positional) out.args.push(a);
    else return undefined;
  }
  return out.args.length === positional ? out : undefined;
}

/** The configuration, the repository's location and the spool settings of a lean start. */
function leanContext(f: { repo?: string; spoolDir?: string; prefetch?: number }) {
  const config = loadConfig(process.env);
  const storagePath = callStoragePath(config, f.repo);
  return { storagePath, spool: walSpoolSettings({ config }, { spoolDir: f.spoolDir, prefetch: f.prefetch }) };
}

/**
 * The lean start of `prism pg archive-wal PATH [--repo R] [--spool-dir D]` (bin/prism.js loads
 * this before the whole CLI, and the launcher prism-wal starts it when it cannot answer): when
 * the background push has already stored PATH (see archivedAhead), the call is done without loading the commands, the logger or the repository —
 * most calls under load. Anything else (another flag, a config error, no mark) returns false and
 * the whole CLI runs the command as usual.
 */
export async function archiveWalFast(argv: readonly string[]): Promise<boolean> {
  if (argv[2] !== 'pg' || argv[3] !== 'archive-wal') return false;
  const f = leanArgs(argv, 1);
  if (!f || f.prefetch !== undefined) return false;
  try {
    const { storagePath, spool } = leanContext(f);
    if (!(await archivedAhead(spool, storagePath, f.args[0]!))) return false;
    await recordWalPointer(process.env, { kind: 'archive', path: f.args[0]!, repo: f.repo, spoolDir: f.spoolDir });
    return true;
  } catch {
    return false;
  }
}

/**
 * The lean start of `prism pg restore-wal NAME PATH [--repo R] [--spool-dir D] [--prefetch N]`:
 * a segment the fetch ahead has written and marked is moved into place while it is the file the
 * mark names (see servePrefetched), without the commands, the logger or the repository (nor its
 * keys). Anything else returns false and the whole CLI runs the command.
 */
export async function restoreWalFast(argv: readonly string[]): Promise<boolean> {
  if (argv[2] !== 'pg' || argv[3] !== 'restore-wal') return false;
  const f = leanArgs(argv, 2);
  if (!f) return false;
  try {
    const { storagePath, spool } = leanContext(f);
    if (!(await servePrefetched(spool, storagePath, f.args[0]!, f.args[1]!))) return false;
    await recordWalPointer(process.env, { kind: 'restore', path: f.args[1]!, repo: f.repo, spoolDir: f.spoolDir, prefetch: f.prefetch });
    return true;
  } catch {
    return false;
  }
}
