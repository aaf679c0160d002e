import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { mkdirPrivateAsync, PRIVATE_FILE_MODE } from '../../../core/private-files.js';
import { processAlive } from '../../../core/process-alive.js';
import type { Clock } from '../../../core/clock.js';
import { localObjectPath, localObjectPresent } from '../../../repo/open-backend.js';
import { decodeField, encodeField, fileIdentity, formatIdentity, parseIdentity, sameIdentity, type FileIdentity } from '../../../core/wal-fast-text.js';
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
  /**
   * The identity of the file the mark stands for when it was read (archive: the segment in the
   * WAL directory) or written (restore: the spool's copy). Without it the lean paths never
   * answer from the mark.
   */
  file?: FileIdentity;
  /** archive, local repository: the absolute path of the WAL record object (the lean paths check it exists). */
  record?: string;
}

const MARK_HEADER = 'prism-wal-mark 1';

/** The text of a mark: lines the launcher (prism-wal.main.c) reads too. */
export function formatMark(m: SpoolMark): string {
  const lines = [MARK_HEADER, `name ${m.name}`, `size ${m.size}`, `sha256 ${m.sha256}`];
  if (m.file) lines.push(`file ${formatIdentity(m.file)}`);
  if (m.record !== undefined) lines.push(`record ${encodeField(m.record)}`);
  lines.push('end', '');
  return lines.join('\n');
}

/** A mark's text, or undefined for anything formatMark would not have written for `name`. */
export function parseMark(text: string, name: string): SpoolMark | undefined {
  const lines = text.split('\n');
  if (lines.pop() !== '' || lines.shift() !== MARK_HEADER || lines.pop() !== 'end') return undefined;
  const [n, size, sha, ...rest] = lines;
  if (n !== `name ${name}` || !/^size \d{1,15}$/.test(size ?? '') || !/^sha256 [0-9a-f]{64}$/.test(sha ?? '')) return undefined;
  const m: SpoolMark = { name, size: Number(size!.slice(5)), sha256: sha!.slice(7) };
  if (rest[0]?.startsWith('file ')) {
    const id = parseIdentity(rest.shift()!.slice(5));
    if (!id) return undefined;
    m.file = id;
  }
  if (rest[0]?.startsWith('record ')) {
    const r = decodeField(rest.shift()!.slice(7));
    if (r === undefined || !isAbsolute(r)) return undefined;
    m.record = r;
  }
  return rest.length === 0 ? m : undefined;
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
  const m = parseMark(text, name);
  if (m) return m;
  await fsp.rm(file, { force: true }); // damaged: as if absent
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
  return writeSpoolFile(area, `${m.name}.ok`, formatMark(m));
}

/**
 * The file's identity for an archive mark, when it can stand for the bytes just stored: the same
 * before and after the read, and last changed at least RACY_MS before the read began. A change
 * made while it was read, in the same tick of the kernel's coarse clock as the first look, would
 * not move its ctime (git's "racily clean" entries); the margin rules that out.
 */
export function stableIdentity(before: FileIdentity | undefined, after: FileIdentity | undefined, readStartMs: number): FileIdentity | undefined {
  if (!before || !sameIdentity(before, after)) return undefined;
  return before.ctimeNs < BigInt(Math.floor(readStartMs - RACY_MS)) * 1_000_000n ? before : undefined;
}

/** More than a tick of the kernel's coarse clock (1–10 ms) and the lag of that clock behind the real one. */
export const RACY_MS = 50;

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
 * archive-wal's quick answer, without the repository open (the lean start of bin/prism.js, and
 * the same checks in the launcher prism-wal): true when the background push marked this very
 * file as stored — its identity now (device, inode, size, mtime and ctime to the nanosecond) is
 * the one the push recorded when it read it — and the record the mark names is in the (local)
 * repository, where this repository keeps it. The mark is written only once the record is
 * durable, and a record is never replaced; anything else (no mark, a mark without an identity,
 * another file, a remote repository) is false, and the call goes the whole way.
 */
export async function archivedAhead(spool: WalSpoolSettings, storagePath: string, path: string): Promise<boolean> {
  const name = basename(path);
  if (!spool.async || !isArchivable(name)) return false;
  const record = localObjectPath(storagePath, walRecordName(name));
  if (record === undefined) return false;
  const area = spoolArea(spool, 'archive', storagePath, dirname(resolve(path)));
  const mark = await readMark(area, name);
  if (!mark?.file || mark.record !== record || mark.file.size !== BigInt(mark.size)) return false;
  if (!sameIdentity(mark.file, await fileIdentity(path))) return false;
  return (await localObjectPresent(storagePath, walRecordName(name))) === true;
}

/**
 * restore-wal's quick answer, without the repository open (so without its keys) or the whole CLI
 * (the lean start of bin/prism.js; the launcher prism-wal does the same): when the fetch ahead
 * has marked segment `name` (written, synced, renamed, then marked with the copy's identity),
 * the spool's copy is moved to `path` if it is still that file (device, inode, size, mtime,
 * ctime). Anything else (no mark, no file, another file, a history file) is false and the call
 * goes the whole way, which checks the copy's SHA-256 against the repository's record.
 */
export async function servePrefetched(spool: WalSpoolSettings, storagePath: string, name: string, path: string): Promise<boolean> {
  if (spool.prefetch <= 0 || !isSegmentName(name)) return false;
  const walDir = dirname(resolve(path));
  const area = spoolArea(spool, 'restore', storagePath, walDir);
  const mark = await readMark(area, name);
  if (!mark?.file || mark.file.size !== BigInt(mark.size)) return false;
  const file = join(area, name);
  if (!sameIdentity(mark.file, await fileIdentity(file))) return false;
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
