import { futimesSync, lutimesSync } from 'node:fs';
import { fsPath } from '../../core/byte-names.js';
import { errnoError } from './errno-error.js';
import { loadAddon } from './native-addon.js';

/**
 * Setting a file's times to the nanosecond, as trees store them. Node's utimes family takes
 * seconds as a double and libuv cuts them to whole microseconds, so exact nanoseconds need the
 * small addon file-times.node (futimens / utimensat, built from file-times.c). Without it (no C
 * compiler at build time) the times are set exact to the microsecond.
 */
interface FileTimesAddon {
  futimens(fd: number, ns: bigint): number;
  lutimens(path: string | Buffer, ns: bigint): number;
}

const addon = loadAddon<FileTimesAddon>('file-times');

/** How exactly restored times match the backup: 'ns' with the addon, 'us' with Node alone. */
export const TIME_PRECISION: 'ns' | 'us' = addon ? 'ns' : 'us';

/** The same time as far as this process can set one. */
export function sameTime(aNs: bigint, bNs: bigint): boolean {
  return TIME_PRECISION === 'ns' ? aNs === bNs : floorDiv(aNs, 1000n) === floorDiv(bNs, 1000n);
}

/** Sets atime and mtime of an open file to `ns` (nanoseconds since the epoch, as a decimal string). */
export function setFileTimes(fd: number, ns: string): void {
  const t = BigInt(ns);
  if (addon) check(addon.futimens(fd, t), 'futimens');
  else futimesSync(fd, utimesSeconds(t), utimesSeconds(t));
}

/** Sets atime and mtime of `path` itself (a symlink's own, never its target's) to `ns`. */
export function setPathTimes(path: string, ns: string): void {
  const t = BigInt(ns);
  if (addon) check(addon.lutimens(fsPath(path), t), 'utimensat', path);
  else lutimesSync(fsPath(path), utimesSeconds(t), utimesSeconds(t));
}

/**
 * Seconds for Node's utimes that come out as exactly the microsecond of `ns`: libuv truncates to
 * a microsecond (towards zero), and a double near 1.7e9 s is only good to ~0.24 µs, so the value
 * aimed at is the middle of that microsecond, where neither rounding can cross into the next one.
 * As a numeric string: Node takes a negative number (before 1970) for "now", but not a string.
 */
export function utimesSeconds(ns: bigint): string {
  const us = floorDiv(ns, 1000n);
  return String(Number(us) / 1e6 + (us < 0n ? -5e-7 : 5e-7));
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function check(errno: number, syscall: string, path?: string): void {
  if (errno !== 0) throw errnoError(errno, syscall, path);
}
