import { closeSync, constants, fchmodSync, fchownSync, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { fsPath } from '../../core/byte-names.js';
import { errnoError } from './errno-error.js';
import { setFileTimes } from './file-times.js';
import { loadAddon } from './native-addon.js';

/**
 * A restored file's system calls, made in one call into the addon file-write.node (file-write.c)
 * where it is built, else one by one through node:fs. Either way a file is created with
 * O_NOFOLLOW (a symlink put in its place is not followed) and O_NONBLOCK (a FIFO put in its place
 * fails instead of waiting for a reader), must then be a regular file, and gets its mode and
 * times last.
 */
interface FileWriteAddon {
  writeFile(path: Buffer | string, data: Buffer | null, size: number, mode: number, ns: bigint, uid: number, gid: number): number;
  finishFile(fd: number, mode: number, ns: bigint, uid: number, gid: number): number;
  createFile(path: Buffer | string): number;
  closeFile(fd: number): number;
}

const addon = loadAddon<FileWriteAddon>('file-write');

/** Owner to give a file (only root can); undefined leaves the creating user's. */
export interface FileOwner {
  uid: number;
  gid: number;
}

const STEPS = ['open', 'fstat', 'write', 'ftruncate', 'fchown', 'fchmod', 'futimens', 'close'] as const;
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/**
 * Opens `path` for writing as a new regular file (see above); the caller ends with finishFile, or
 * closeFile on failure (never node:fs's closeSync: with the addon, node:fs did not open it).
 */
export function createFile(path: string): number {
  if (addon) {
    const fd = addon.createFile(fsPath(path));
    if (fd < 0) check(-fd, path);
    return fd;
  }
  const fd = openSync(fsPath(path), CREATE, 0o600);
  try {
    if (!fstatSync(fd).isFile()) throw notRegular(path);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  return fd;
}

/** Closes a descriptor of createFile without finishing the file. */
export function closeFile(fd: number, path: string): void {
  if (addon) check(addon.closeFile(fd), path);
  else closeSync(fd);
}

/** Owner (if given), mode and times (ns since the epoch, a decimal string) of an open file, then closes it. */
export function finishFile(fd: number, path: string, mode: number, ns: string, owner?: FileOwner): void {
  if (addon) return check(addon.finishFile(fd, mode, BigInt(ns), owner?.uid ?? -1, owner?.gid ?? -1), path);
  try {
    if (owner) fchownSync(fd, owner.uid, owner.gid);
    fchmodSync(fd, mode);
    setFileTimes(fd, ns);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a whole file: `data` (null: no bytes, a hole), then `size` when it differs from the
 * data's length (a sparse tail), then owner, mode and times.
 */
export function writeWholeFile(path: string, data: Buffer | null, size: number, mode: number, ns: string, owner?: FileOwner): void {
  if (addon) return check(addon.writeFile(fsPath(path), data, size, mode, BigInt(ns), owner?.uid ?? -1, owner?.gid ?? -1), path);
  const fd = createFile(path);
  try {
    for (let off = 0; data && off < data.length;) off += writeSync(fd, data, off, data.length - off, off);
    if ((data?.length ?? 0) !== size) ftruncateSync(fd, size);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  finishFile(fd, path, mode, ns, owner);
}

function check(result: number, path: string): void {
  if (result === 0) return;
  const errno = result >> 3;
  const step = STEPS[result & 7]!;
  throw step === 'fstat' && errno === 0 ? notRegular(path) : errnoError(errno, step, path);
}

function notRegular(path: string): Error {
  return Object.assign(new Error(`${path} is not a regular file`), { code: 'EFTYPE' });
}
