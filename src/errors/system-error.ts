import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { ERROR_CODES, type ErrorCode } from './codes.js';
import { PrismError, isPrismError } from './prism-error.js';

/** What a system error on a path means for the user: the registry code and what is wrong with the path. */
export interface SystemErrorMeaning {
  readonly code: ErrorCode;
  /** e.g. `/etc/passwd is a file, not a directory`. */
  readonly says: string;
  /** The path the call failed on, when the error names one. */
  readonly path: string | undefined;
  /** ENOTDIR, EACCES … */
  readonly errno: string;
}

/**
 * The one translation of system errors on paths (the repository, the data directory, a restore
 * target, the config file, a file being read): each errno a user's path or system can cause, to
 * its registry code and a sentence naming the path. Undefined for anything else (a bug, not the
 * user's path). `knownPath`: the path the failed call was on, when the error does not say (a read
 * of an open file).
 */
export function describeSystemError(e: unknown, knownPath?: string): SystemErrorMeaning | undefined {
  if (isPrismError(e) || e === null || typeof e !== 'object') return undefined;
  const err = e as NodeJS.ErrnoException;
  if (typeof err.code !== 'string') return undefined;
  const path = typeof err.path === 'string' ? err.path : knownPath;
  const at = path ?? 'the path';
  const meaning = (code: ErrorCode, says: string): SystemErrorMeaning => ({ code, says, path, errno: err.code! });
  switch (err.code) {
    case 'ENOTDIR': {
      const file = path === undefined ? undefined : firstNonDirectory(path);
      return meaning('PATH_UNUSABLE', file ? `${file} is a file, not a directory (in ${path})` : `a part of ${at} is not a directory`);
    }
    case 'EISDIR':
      return meaning('PATH_UNUSABLE', `${at} is a directory where a file is needed`);
    case 'ENAMETOOLONG':
      return meaning('PATH_UNUSABLE', `${at} is too long (a name over 255 bytes, or the whole path over 4096)`);
    case 'ELOOP':
      return meaning('PATH_UNUSABLE', `the symbolic links in ${at} loop (or nest too deep)`);
    case 'EACCES':
    case 'EPERM':
      return meaning('PERMISSION_DENIED', path ? `permission denied on ${path} for ${currentUser()}` : `permission denied for ${currentUser()}`);
    case 'EROFS':
      return meaning('PERMISSION_DENIED', `${at} is on a read-only file system`);
    case 'ENOSPC':
      return meaning('DISK_SPACE_INSUFFICIENT', `no space left on the device of ${at}`);
    case 'EDQUOT':
      return meaning('DISK_SPACE_INSUFFICIENT', `the disk quota of ${currentUser()} is used up on the device of ${at}`);
    case 'EMFILE':
    case 'ENFILE':
      return meaning(
        'OPEN_FILES_LIMIT',
        `too many open files${path ? ` (opening ${path})` : ''}: the ${err.code === 'EMFILE' ? 'process' : 'system'} limit is reached`,
      );
    default:
      return undefined;
  }
}

/** Maps a Node.js system error on a path to the registry, saying what it was doing; anything unknown stays as it is. */
export function fromSystemError(e: unknown, context: string): unknown {
  const m = describeSystemError(e);
  if (!m) return e;
  return new PrismError(
    m.code,
    `${ERROR_CODES[m.code].title} while ${context}: ${m.says}.`,
    { ...(m.path !== undefined ? { path: m.path } : {}), errno: m.errno },
    { cause: e },
  );
}

/** Any thrown value as a PrismError: itself, a system error on a path by its meaning, anything else INTERNAL (a bug). */
export function asPrismError(e: unknown, context = 'running prism'): PrismError {
  if (isPrismError(e)) return e;
  const mapped = fromSystemError(e, context);
  if (isPrismError(mapped)) return mapped;
  return new PrismError('INTERNAL', `Unexpected error: ${(e as Error)?.message ?? String(e)}`, {}, { cause: e });
}

/** The first part of an absolute path that exists and is not a directory (`/etc/passwd` of `/etc/passwd/repo/config.json`). */
function firstNonDirectory(path: string): string | undefined {
  if (!path.startsWith('/')) return undefined;
  let prefix = '';
  for (const part of path.split('/').filter(Boolean)) {
    prefix += `/${part}`;
    try {
      if (!statSync(prefix).isDirectory()) return prefix;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function currentUser(): string {
  const uid = process.getuid?.();
  try {
    return `user ${userInfo().username}${uid !== undefined ? ` (uid ${uid})` : ''}`;
  } catch {
    return uid !== undefined ? `uid ${uid}` : 'this user';
  }
}
