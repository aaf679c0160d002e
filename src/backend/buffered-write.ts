import type { AtomicWrite, CallOptions } from './backend.js';

/**
 * An atomic write kept in memory and handed whole to `commit` at the end: for stores that write an
 * object in one request (and can send it again whole when that request fails). Each write is
 * copied (the caller reuses its buffer at once).
 */
export function bufferedWrite(commit: (name: string, parts: readonly Buffer[], opts?: CallOptions) => Promise<void>): AtomicWrite {
  const parts: Buffer[] = [];
  let bytes = 0;
  return {
    write: (data) => {
      parts.push(Buffer.from(data));
      bytes += data.length;
    },
    get bytes() {
      return bytes;
    },
    commit: (name, opts) => commit(name, parts, opts),
    abort: async () => {
      parts.length = 0;
    },
  };
}
