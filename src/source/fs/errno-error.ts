import { constants } from 'node:os';

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, n]) => [n, name]));

/** The Error node:fs would throw for a failed system call (`code`, negative `errno`, `syscall`, `path`). */
export function errnoError(errno: number, syscall: string, path?: string): NodeJS.ErrnoException {
  const code = ERRNO_NAMES.get(errno) ?? `E${errno}`;
  return Object.assign(new Error(`${code}: ${syscall} failed${path === undefined ? '' : `, '${path}'`}`), {
    code,
    errno: -errno,
    syscall,
    ...(path === undefined ? {} : { path }),
  });
}
