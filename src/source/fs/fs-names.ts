import { readdirSync, readlinkSync } from 'node:fs';
import { fsPath, nameFromBytes } from '../../core/byte-names.js';

/**
 * The names in a directory, as bytes in the string form of core/byte-names. Node decodes names as
 * UTF-8 and turns invalid bytes into U+FFFD, which loses the name; a directory where that could
 * have happened is listed again as bytes (the common case costs nothing more).
 */
export function listNames(path: string): string[] {
  const p = fsPath(path);
  const names = readdirSync(p);
  return names.some((n) => n.includes('\ufffd')) ? readdirSync(p, { encoding: 'buffer' }).map(nameFromBytes) : names;
}

/** A symlink's target, as bytes in the string form of core/byte-names. */
export function readTarget(path: string): string {
  const p = fsPath(path);
  const target = readlinkSync(p);
  return target.includes('\ufffd') ? nameFromBytes(readlinkSync(p, { encoding: 'buffer' })) : target;
}
