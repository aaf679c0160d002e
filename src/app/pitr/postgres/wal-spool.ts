import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { mkdirPrivateAsync, PRIVATE_FILE_MODE } from '../../../core/private-files.js';
import { processAlive } from '../../../core/process-alive.js';
import type { Clock } from '../../../core/clock.js';
import { localObjectPresent } from '../../../repo/open-backend.js';
import { walRecordName } from '../../../repo/layout.js';
import { isArchivable, isSegmentName } from '../../../source/postgres/pg-wal-name.js';
import type { AppContext } from '../../context.js';

/**
 * The spool of `pg archive-wal` and `pg restore-wal` (as pgBackRest's spool-path): one area per
 * repository and WAL directory, `<spool_dir>/pg-archive/<key>/` and `<spool_dir>/pg-restore/<key>/`.
 *
 * - archive: `<name>.ok` says the background push stored that file (name, size, SHA-256) and its
 *   record durably; a later archive_command for it succeeds at once only if the file it is given
 *   has that size and SHA-256 and the repository's record says the same. `<name>.error` says the
 *   push failed (the call then archives it itself and reports why).
 * - restore: `<name>` is a segment fetched ahead, `<name>.ok` its mark (the record's size and
 *   SHA-256), written once the segment is synced and in place. The lean restore-wal serves it only
 *   if the file's size and SHA-256 (recomputed) are the mark's; the full one only if they are the
 *   record's. Files are written under a temporary name, synced and renamed, so a killed worker
 *   leaves no file that looks whole. `at`: the segment restore-wal last had to fetch itself (the
 *   fetch ahead was behind: it continues from there). `stop`: the fetch ahead ends.
 * - `worker.json`: the background process of the area (pid, host), its mtime a heartbeat.
 *
 * A mark is a hint that saves work, never a proof: whatever it says is checked against the file
 * and the repository before a call succeeds on it.
 */

export interface WalSpoolSettings {
  /** archive-wal pushes the other ready segments in a background process. */
  async: boolean;
  /** Segments the background push stores at once. */
  parallel: number;
  /** Segments restore-wal fetches ahead. */
  prefetch: number;
  /** The spool's root directory (absolute). */
  dir: string;
}

export interface WalSpoolFlags {
  spoolDir?: string | undefined;
  async?: boolean | undefined;
  prefetch?: number | undefined;
}

export function walSpoolSettings(ctx: Pick<AppContext, 'config'>, flags: WalSpoolFlags = {}): WalSpoolSettings {
  const p = ctx.config.backup.pitr;
  // --spool-dir as any path given on the command line; spool_dir relative to PRISM_HOME
  const dir = flags.spoolDir !== undefined ? resolve(flags.spoolDir) : isAbsolute(p.spool_dir) ? p.spool_dir : resolve(ctx.config.home, p.spool_dir);
  return {
    async: flags.async ?? p.archive_async,
    parallel: p.archive_parallel,
    prefetch: flags.prefetch ?? p.restore_prefetch,
    dir,
  };
}

/** The area of one repository and one WAL directory (two clusters, or two repositories, never share one). */
export function spoolArea(s: WalSpoolSettings, kind: 'archive' | 'restore', storagePath: string, walDir: string): string {
  const key = createHash('sha256')
    .update(`${storagePath}\0${resolve(walDir)}`)
    .digest('hex')
    .slice(0, 16);
  return join(s.dir, `pg-${kind}`, key);
}

export interface SpoolMark {
  name: string;
  size: number;
  sha256: string;
}

function isMark(x: unknown, name: string): x is SpoolMark {
  const m = x as SpoolMark;
  return (
    typeof m === 'object' && m !== null && m.name === name && Number.isSafeInteger(m.size) && typeof m.sha256 === 'string' && /^[0-9a-f]{64}$/.test(m.sha256)
  );
}

/** The mark `<name>.ok`, or undefined (none, or one that does not parse: then it is removed). */
export async function readMark(area: string, name: string): Promise<SpoolMark | undefined> {
  const file = join(area, `${name}.ok`);
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const m = JSON.parse(text) as unknown;
    if (isMark(m, name)) return m;
  } catch {
    // damaged: as if absent
  }
  await fsp.rm(file, { force: true });
  return undefined;
}

/** Writes `<area>/<file>` whole: temporary name, fsync, rename. */
export async function writeSpoolFile(area: string, file: string, data: string): Promise<void> {
  await mkdirPrivateAsync(area);
  const temp = join(area, `.${file}.${process.pid}.tmp`);
  const fh = await fsp.open(temp, 'w', PRIVATE_FILE_MODE);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await fsp.rename(temp, join(area, file));
}

/** Writes `<area>/<file>` without syncing (a hint whose loss costs nothing): temporary name, rename. */
export async function writeHint(area: string, file: string, data: string): Promise<void> {
  const temp = join(area, `.${file}.${process.pid}.tmp`);
  await fsp.writeFile(temp, data, { mode: PRIVATE_FILE_MODE });
  await fsp.rename(temp, join(area, file));
}

export function writeMark(area: string, m: SpoolMark): Promise<void> {
  return writeSpoolFile(area, `${m.name}.ok`, JSON.stringify(m));
}

/** Size and SHA-256 of a file, read through one reused buffer (no stream, little garbage). */
export async function fileDigest(path: string): Promise<{ size: number; sha256: string }> {
  const h = createHash('sha256');
  const fh = await fsp.open(path, 'r');
  try {
    const buf = Buffer.allocUnsafeSlow(1 << 20);
    let size = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
      size += bytesRead;
    }
    return { size, sha256: h.digest('hex') };
  } finally {
    await fh.close();
  }
}

/** A worker is taken for dead when its heartbeat (worker.json's mtime) is older than this. */
const HEARTBEAT_STALE_MS = 60_000;

export interface SpoolWorker {
  /** Says the worker is alive (touches worker.json). */
  beat(): Promise<void>;
  release(): Promise<void>;
}

/** The area's worker, if one runs: its pid and the file it leaves to its caller. */
export async function liveWorker(area: string, clock: Clock): Promise<{ pid: number; skip?: string } | undefined> {
  const file = join(area, 'worker.json');
  try {
    const [text, st] = await Promise.all([fsp.readFile(file, 'utf8'), fsp.stat(file)]);
    const w = JSON.parse(text) as { pid?: unknown; host?: unknown; skip?: unknown };
    if (typeof w.pid !== 'number' || w.host !== hostname()) return undefined;
    if (clock.now().getTime() - st.mtimeMs > HEARTBEAT_STALE_MS) return undefined;
    if (!processAlive(w.pid)) return undefined;
    return typeof w.skip === 'string' ? { pid: w.pid, skip: w.skip } : { pid: w.pid };
  } catch {
    return undefined;
  }
}

/** Becomes the area's worker (worker.json, created exclusively), or undefined when a live one is there. */
export async function takeWorker(area: string, clock: Clock, skip?: string): Promise<SpoolWorker | undefined> {
  await mkdirPrivateAsync(area);
  const file = join(area, 'worker.json');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await fsp.writeFile(file, JSON.stringify({ pid: process.pid, host: hostname(), ...(skip ? { skip } : {}) }), { flag: 'wx', mode: PRIVATE_FILE_MODE });
      return {
        beat: async () => {
          const now = clock.now();
          await fsp.utimes(file, now, now).catch(() => {});
        },
        release: async () => {
          // only our own file (a worker that took over after a stale heartbeat keeps its own)
          const w = await fsp.readFile(file, 'utf8').catch(() => '');
          if (w.includes(`"pid":${process.pid},`)) await fsp.rm(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (await liveWorker(area, clock)) return undefined;
      await fsp.rm(file, { force: true }); // a dead worker's
    }
  }
  return undefined;
}

/** Temporary files of processes that are gone (a killed worker's). */
export async function removeDeadTemps(area: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(area);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^\..*\.(\d+)\.tmp$/.exec(n);
    if (m && (Number(m[1]) === process.pid || !processAlive(Number(m[1])))) await fsp.rm(join(area, n), { force: true });
  }
}

/**
 * archive-wal's quick answer, without the repository open (the lean start of bin/prism.js): true
 * when the background push marked this very file (its size and SHA-256) as stored and the record
 * is in the (local) repository. The mark is written only once the record is durable, and a record
 * is never replaced; anything else (no mark, another file, a remote repository) is false, and the
 * call goes the whole way.
 */
export async function archivedAhead(spool: WalSpoolSettings, storagePath: string, path: string): Promise<boolean> {
  const name = basename(path);
  if (!spool.async || !isArchivable(name)) return false;
  const area = spoolArea(spool, 'archive', storagePath, dirname(resolve(path)));
  const mark = await readMark(area, name);
  if (!mark) return false;
  const size = await fsp.stat(path).then(
    (s) => s.size,
    () => -1,
  );
  if (size !== mark.size) return false;
  const file = await fileDigest(path);
  if (file.size !== mark.size || file.sha256 !== mark.sha256) return false;
  return (await localObjectPresent(storagePath, walRecordName(name))) === true;
}

/**
 * restore-wal's quick answer, without the repository open (so without its keys) or the whole CLI
 * (the lean start of bin/prism.js): when the fetch ahead has marked segment `name` (written,
 * synced, then marked with its record's size and SHA-256), the spool's copy is moved to `path`
 * once its size and SHA-256, computed again here, are the mark's. Anything else (no mark, no
 * file, other bytes, a history file) is false and the call goes the whole way, which checks the
 * copy against the repository's record.
 */
export async function servePrefetched(spool: WalSpoolSettings, storagePath: string, name: string, path: string): Promise<boolean> {
  if (spool.prefetch <= 0 || !isSegmentName(name)) return false;
  const walDir = dirname(resolve(path));
  const area = spoolArea(spool, 'restore', storagePath, walDir);
  const mark = await readMark(area, name);
  if (!mark) return false;
  const file = join(area, name);
  const digest = await fileDigest(file).catch(() => undefined);
  if (digest?.size !== mark.size || digest.sha256 !== mark.sha256) return false;
  await moveInto(file, path, join(walDir, `.${basename(path)}.prism-${process.pid}`));
  await fsp.rm(join(area, `${name}.ok`), { force: true });
  return true;
}

/** Moves `file` to `path` (rename; across file systems a synced copy under `temp`, renamed). */
export async function moveInto(file: string, path: string, temp: string): Promise<void> {
  try {
    await fsp.rename(file, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    try {
      await fsp.copyFile(file, temp);
      const fh = await fsp.open(temp, 'r+');
      await fh.sync().finally(() => fh.close());
      await fsp.rename(temp, path);
    } finally {
      await fsp.rm(temp, { force: true });
    }
    await fsp.rm(file, { force: true });
  }
}
