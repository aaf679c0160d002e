import type { SftpSession } from './sftp-session.js';

/*
 * Pipelined reads and writes on one open SFTP handle: an SFTP request carries at most one
 * chunk (OpenSSH: 255 KiB), and one request at a time would wait a round trip per chunk, so
 * several are kept in flight (as ssh2's fastPut/fastGet and OpenSSH's sftp -R do).
 */

/**
 * Requests in flight per transfer. Writes: 8 × 128 KiB stays inside OpenSSH's 2 MiB channel
 * window (more only queues inside ssh2, and measured slower on loopback); reads: 16.
 */
export const WRITE_DEPTH = 8;
export const READ_DEPTH = 16;

/**
 * Runs `task` over the items, at most `depth` at once, in order of issue. On the first failure
 * or an abort, issues no more and waits for those in flight (they may still write into the
 * caller's buffer) before rejecting.
 */
export async function pipelined<T>(items: Iterable<T>, depth: number, task: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  const it = items[Symbol.iterator]();
  let failure: { e: unknown } | undefined;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (failure) return;
      if (signal?.aborted) {
        failure ??= { e: signal.reason };
        return;
      }
      const next = it.next();
      if (next.done) return;
      try {
        await task(next.value);
      } catch (e) {
        failure ??= { e };
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: depth }, worker));
  if (failure) throw failure.e;
}

/**
 * The parts as chunks of at most `max` bytes, without copying where a part is large: a part's
 * slices are sent as they are, and only small pieces (small parts, a part's short tail) are
 * gathered into a new buffer with their neighbours.
 */
export function* chunksOf(parts: readonly Uint8Array[], max: number): Generator<Buffer> {
  const small = max / 4;
  let stage: Buffer | undefined;
  let staged = 0;
  for (const part of parts) {
    const b = Buffer.isBuffer(part) ? part : Buffer.from(part.buffer, part.byteOffset, part.byteLength);
    let off = 0;
    while (off < b.length) {
      const rest = b.length - off;
      if (staged === 0 && rest >= small) {
        const n = Math.min(max, rest);
        yield b.subarray(off, off + n);
        off += n;
        continue;
      }
      stage ??= Buffer.allocUnsafe(max);
      const n = Math.min(max - staged, rest);
      b.copy(stage, staged, off, off + n);
      staged += n;
      off += n;
      if (staged === max) {
        yield stage;
        stage = undefined;
        staged = 0;
      }
    }
  }
  if (stage && staged > 0) yield stage.subarray(0, staged);
}

/** Writes the parts at offset 0 of an open file, several requests in flight. */
export async function writeParts(s: SftpSession, handle: Buffer, parts: readonly Uint8Array[], signal?: AbortSignal): Promise<void> {
  let position = 0;
  const placed = (function* () {
    for (const chunk of chunksOf(parts, s.chunkSizes.write)) {
      yield { chunk, position };
      position += chunk.length;
    }
  })();
  await pipelined(
    placed,
    WRITE_DEPTH,
    ({ chunk, position: at }) => s.request<void>((sftp, done) => sftp.write(handle, chunk, 0, chunk.length, at, (err) => done(err))),
    signal,
  );
}

/** Thrown when a file ends before the bytes asked for. */
export class ShortReadError extends Error {
  constructor(readonly fileEnd: number) {
    super(`the file ends at byte ${fileEnd}`);
  }
}

/**
 * Reads exactly `length` bytes from `position` into `buf` (from 0), several requests in flight;
 * a short answer is asked again for the rest, the end of the file before `length` is a ShortReadError.
 */
export async function readExactly(s: SftpSession, handle: Buffer, buf: Buffer, length: number, position: number, signal?: AbortSignal): Promise<void> {
  const size = s.chunkSizes.read;
  const pieces = (function* () {
    for (let off = 0; off < length; off += size) yield { off, len: Math.min(size, length - off) };
  })();
  await pipelined(
    pieces,
    READ_DEPTH,
    async ({ off, len }) => {
      let done = 0;
      while (done < len) {
        const n = await s.request<number>((sftp, cb) => sftp.read(handle, buf, off + done, len - done, position + off + done, (err, bytes) => cb(err, bytes)));
        if (!n) throw new ShortReadError(position + off + done);
        done += n;
      }
    },
    signal,
  );
}
