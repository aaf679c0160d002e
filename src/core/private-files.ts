import { appendFileSync, closeSync, fsyncSync, mkdirSync, openSync, promises as fsp, renameSync, rmSync, writeFileSync, type PathLike } from 'node:fs';

/**
 * What prism creates for itself (config, logs, state, the repository, temporary and staging
 * files) may hold a password or backed-up data: it is its owner's alone, files 0600 and folders
 * 0700, as restic and pgBackRest do. The umask can only take bits away, so these modes hold with
 * any umask (022, 002, 000). Restored data keeps the modes it was backed up with.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** mkdir -p, each folder it creates 0700 (existing ones are left as they are). */
export function mkdirPrivate(dir: PathLike): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

export async function mkdirPrivateAsync(dir: string): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** writeFileSync, a new file 0600. */
export function writePrivateFile(file: string, data: string | Uint8Array, opts: { flag?: string } = {}): void {
  writeFileSync(file, data, { mode: PRIVATE_FILE_MODE, ...(opts.flag ? { flag: opts.flag } : {}) });
}

/** appendFileSync, a new file 0600. */
export function appendPrivateFile(file: string, data: string | Uint8Array): void {
  appendFileSync(file, data, { mode: PRIVATE_FILE_MODE });
}

/** openSync, a new file 0600. */
export function openPrivate(file: string, flags: string | number): number {
  return openSync(file, flags, PRIVATE_FILE_MODE);
}

/**
 * Replaces `file` whole: `data` goes to a new 0600 file `tmp`, is synced, and renamed over it, so
 * a reader (or a crash) sees the old content or the new, never a mix.
 */
export function replacePrivateFile(file: string, data: string | Uint8Array, tmp = `${file}.tmp`): void {
  rmSync(tmp, { force: true }); // a new file, so created 0600 whatever an old one's mode was
  const fd = openPrivate(tmp, 'w');
  try {
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}
