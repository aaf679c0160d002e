import { createReadStream, promises as fsp } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PrismError, fromSystemError, isPrismError } from '../../../errors/index.js';
import type { Repository } from '../../../repo/index.js';
import { checkWalName, isArchivable, isSegmentName, isSegmentSize } from '../../../source/postgres/pg-wal-name.js';
import { lockRepository, openRepository, type AppContext } from '../../context.js';
import { compressionSettings } from '../../backups/create-backup.js';
import { readStream, storeStream } from '../blob-store.js';
import { WholeFilePool } from '../../../snapshot/whole-file-pool.js';
import { chunkWorkerInit } from '../../../snapshot/archiver.js';
import { mkdirPrivateAsync } from '../../../core/private-files.js';
import { fileIdentity } from '../../../core/wal-fast-text.js';
import { localObjectPath } from '../../../repo/open-backend.js';
import { walRecordName } from '../../../repo/layout.js';
import {
  fileDigest,
  liveWorker,
  moveInto,
  readMark,
  removeDeadTemps,
  spoolArea,
  stableIdentity,
  takeWorker,
  writeHint,
  writeMark,
  writeSpoolFile,
  type WalSpoolSettings,
} from './wal-spool.js';
import { listBaseRecords, listWalRecords, putWalRecord, readWalRecord, type BaseRecord, type WalRecord } from './pg-records.js';
import { restorePointSummaries, timelineSummaries, type TimelineSummary } from './pg-archive-view.js';

/** archive-wal and restore-wal run for every segment: they wait only briefly for a prune's exclusive lock. */
const LOCK_WAIT_MS = 10_000;

export interface ArchiveWalResult {
  name: string;
  size: number;
  stored: 'new' | 'already archived';
  new_bytes: number;
  /** Stored before this call by the background push (its spool mark checked against the file and the record). */
  pushed_ahead?: true;
}

export interface ArchiveWalOptions {
  /** The spool (settings of backup.pitr); without it, the segment alone is archived, as before. */
  spool?: WalSpoolSettings;
  /** Starts `pushReadyWal(walDir, skip)` in a background process (the CLI's part: it knows how to start prism). */
  startPush?: (walDir: string, skip: string) => void;
}

/** How long an archive-wal call waits for the background push to store its segment, at most (then it stores it itself). */
const PUSH_WAIT_MS = 120_000;

/**
 * `archive_command = 'prism pg archive-wal %p'`: stores one WAL file (read whole from `path`,
 * relative to the server's data directory) in the repository. The record that makes it visible
 * is written last, after its chunks and index, so the archive never holds part of a segment.
 * The same file archived again succeeds; a different file under an archived name is refused.
 *
 * With a spool and `async`, the first call also starts a background push of the other segments
 * PostgreSQL has ready (see pushReadyWal); the calls for those then succeed once their spool mark,
 * the file (size and SHA-256) and the repository's record agree, without storing anything.
 */
export async function archiveWal(ctx: AppContext, path: string, o: ArchiveWalOptions = {}): Promise<ArchiveWalResult> {
  const name = basename(path);
  checkWalName(name);
  const size = await walFileSize(path, name);
  const walDir = dirname(resolve(path));
  const area = o.spool ? spoolArea(o.spool, 'archive', ctx.config.storagePath, walDir) : undefined;
  if (area) {
    const ahead = await pushedAhead(ctx, area, name, path, size);
    if (ahead !== 'no mark') return ahead ?? (await archiveWal(ctx, path, {}));
    if (o.spool!.async && (await isReady(walDir, name))) {
      // a background push runs: it stores this segment next (or has started to), unless it left it to its caller
      const deadline = ctx.clock.now().getTime() + PUSH_WAIT_MS;
      let worker = await liveWorker(area, ctx.clock);
      while (worker && worker.skip !== name && ctx.clock.now().getTime() < deadline) {
        if (await exists(join(area, `${name}.error`))) break; // it failed on it: this call stores it and says why
        await ctx.clock.sleep(20);
        const done = await pushedAhead(ctx, area, name, path, size);
        if (done !== 'no mark') return done ?? (await archiveWal(ctx, path, {}));
        worker = await liveWorker(area, ctx.clock);
      }
      if (o.startPush && !worker && (await othersReady(walDir, name))) o.startPush(walDir, name);
    }
  }
  const repo = await openRepository(ctx, { create: true });
  const lock = await lockRepository(ctx, repo, 'shared', `prism pg archive-wal ${name}`, LOCK_WAIT_MS);
  try {
    return (await storeWalFile(ctx, repo, path, name, size)).result;
  } catch (e) {
    throw asArchiveError(e, `archiving ${name}`);
  } finally {
    await lock.release().catch(() => {});
  }
}

async function walFileSize(path: string, name: string): Promise<number> {
  let size: number;
  try {
    size = (await fsp.stat(path)).size;
  } catch (e) {
    throw new PrismError('PG_ARCHIVE_FAILED', `Cannot read WAL file ${path}: ${(e as Error).message}.`, { path });
  }
  if (isSegmentName(name) && !isSegmentSize(size)) {
    throw new PrismError('PG_ARCHIVE_FAILED', `${path} has ${size} bytes, which is not a whole WAL segment; not archived.`, { path, size });
  }
  return size;
}

/** Stores one WAL file under a lock the caller holds; returns what archive-wal reports and the file's SHA-256. */
async function storeWalFile(
  ctx: AppContext,
  repo: Repository,
  path: string,
  name: string,
  size: number,
): Promise<{ result: ArchiveWalResult; sha256: string }> {
  const existing = await readWalRecord(repo, name);
  if (existing) {
    const sha256 = await fileSha(path);
    same(existing, sha256, name);
    return { result: { name, size, stored: 'already archived', new_bytes: 0 }, sha256 };
  }
  const stored = await storeStream(repo, createReadStream(path, { highWaterMark: 1 << 20 }), compressionSettings(ctx));
  if (stored.size !== size)
    throw new PrismError('PG_ARCHIVE_FAILED', `${path} changed size while it was read (${size} → ${stored.size} bytes); not archived.`, { path });
  const record: WalRecord = { format: 1, name, size, sha256: stored.sha256, content: stored.content, archived_at: ctx.clock.now().toISOString() };
  if (!(await putWalRecord(repo, record))) same((await readWalRecord(repo, name))!, stored.sha256, name); // archived meanwhile by another run
  ctx.logger.info({ event: 'pg.wal.archived', name, size, new_bytes: stored.newBytes }, `archived ${name}`);
  return { result: { name, size, stored: 'new', new_bytes: stored.newBytes }, sha256: stored.sha256 };
}

/**
 * storeWalFile's work on a chunk worker of `pool` (the background push): the file is read once,
 * hashed once as a whole, chunked and compressed on the worker's core; its packs are committed
 * there, then its index entries and the record are written here, in that order.
 */
async function storeWalFileOn(
  ctx: AppContext,
  repo: Repository,
  pool: WholeFilePool,
  path: string,
  name: string,
  size: number,
): Promise<{ result: ArchiveWalResult; sha256: string }> {
  const existing = await readWalRecord(repo, name);
  if (existing) return storeWalFile(ctx, repo, path, name, size);
  const stored = await pool.store(path);
  if (stored.size !== size)
    throw new PrismError('PG_ARCHIVE_FAILED', `${path} changed size while it was read (${size} → ${stored.size} bytes); not archived.`, { path });
  await repo.writeIndex(stored.blobs);
  const record: WalRecord = { format: 1, name, size, sha256: stored.sha256, content: stored.content, archived_at: ctx.clock.now().toISOString() };
  if (!(await putWalRecord(repo, record))) same((await readWalRecord(repo, name))!, stored.sha256, name); // archived meanwhile by another run
  ctx.logger.info({ event: 'pg.wal.archived', name, size, new_bytes: stored.newBytes }, `archived ${name}`);
  return { result: { name, size, stored: 'new', new_bytes: stored.newBytes }, sha256: stored.sha256 };
}

/**
 * The call's answer when the background push stored this very file: mark, file and record agree.
 * 'no mark': none yet; undefined: a mark that does not fit (the file is then stored as without a spool).
 */
async function pushedAhead(ctx: AppContext, area: string, name: string, path: string, size: number): Promise<ArchiveWalResult | 'no mark' | undefined> {
  const mark = await readMark(area, name);
  if (!mark) return 'no mark';
  const file = mark.size === size ? await fileDigest(path) : undefined;
  const record = file?.size === size && file.sha256 === mark.sha256 ? await readWalRecord(await openRepository(ctx), name) : undefined;
  if (record?.sha256 === mark.sha256 && record.size === size) return { name, size, stored: 'already archived', new_bytes: 0, pushed_ahead: true };
  await fsp.rm(join(area, `${name}.ok`), { force: true }); // not this file's, or the record is gone: never trusted again
  return undefined;
}

const statusDir = (walDir: string) => join(walDir, 'archive_status');

async function isReady(walDir: string, name: string): Promise<boolean> {
  return exists(join(statusDir(walDir), `${name}.ready`));
}

async function exists(path: string): Promise<boolean> {
  return fsp.access(path).then(
    () => true,
    () => false,
  );
}

/** The files PostgreSQL has ready to archive (archive_status/*.ready), in name order. */
async function readyFiles(walDir: string): Promise<string[]> {
  const names = await fsp.readdir(statusDir(walDir)).catch(() => [] as string[]);
  return names
    .filter((n) => n.endsWith('.ready'))
    .map((n) => n.slice(0, -'.ready'.length))
    .filter((n) => isArchivable(n) && !n.endsWith('.partial'))
    .sort();
}

async function othersReady(walDir: string, name: string): Promise<boolean> {
  return (await readyFiles(walDir)).some((n) => n !== name);
}

export interface PushReport {
  pushed: number;
  failed: number;
}

/**
 * The background push (`prism pg archive-push`, started by archive-wal): stores every file
 * PostgreSQL has ready in `walDir` but `skip` (the one its caller stores), `parallel` at a time,
 * and marks each in the spool once its record is durable; it reads archive_status again until
 * nothing is left. One worker per spool area; a second returns at once. Marks of files that are
 * no longer ready (PostgreSQL has taken them as archived) are removed.
 */
export async function pushReadyWal(ctx: AppContext, walDir: string, skip: string | undefined, spool: WalSpoolSettings): Promise<PushReport> {
  const dir = resolve(walDir);
  const area = spoolArea(spool, 'archive', ctx.config.storagePath, dir);
  const worker = await takeWorker(area, ctx.clock, skip);
  const report: PushReport = { pushed: 0, failed: 0 };
  if (!worker) return report;
  try {
    await removeDeadTemps(area);
    const tried = new Set(skip ? [skip] : []);
    const repo = await openRepository(ctx, { create: true });
    let pool: WholeFilePool | undefined;
    try {
      for (;;) {
        const ready = await readyFiles(dir);
        await removeStaleMarks(area, new Set(ready));
        const todo: string[] = [];
        for (const n of ready) if (!tried.has(n) && !(await exists(join(area, `${n}.ok`)))) todo.push(n);
        if (todo.length === 0) break;
        const lock = await lockRepository(ctx, repo, 'shared', 'prism pg archive-push', LOCK_WAIT_MS);
        try {
          // one chunk worker per segment stored at once (the index as of now: what it holds is not stored again)
          await repo.loadIndex();
          pool ??= new WholeFilePool(chunkWorkerInit(repo, ctx.config.storagePath, compressionSettings(ctx)), Math.min(spool.parallel, todo.length));
          const workers = pool;
          let next = 0;
          const lane = async (): Promise<void> => {
            while (next < todo.length) {
              const name = todo[next++]!;
              tried.add(name);
              const path = join(dir, name);
              try {
                const readStart = ctx.clock.now().getTime();
                const before = await fileIdentity(path);
                const size = await walFileSize(path, name);
                const { sha256 } = await storeWalFileOn(ctx, repo, workers, path, name, size);
                const file = stableIdentity(before, await fileIdentity(path), readStart);
                const record = localObjectPath(ctx.config.storagePath, walRecordName(name));
                await writeMark(area, { name, size, sha256, ...(file ? { file } : {}), ...(record !== undefined ? { record } : {}) });
                ctx.logger.info({ event: 'pg.wal.pushed', name }, `pushed ${name} ahead of its archive_command`);
                report.pushed++;
              } catch (e) {
                report.failed++;
                const message = asArchiveError(e, `archiving ${name}`).message;
                ctx.logger.warn({ event: 'pg.wal.push_failed', name, error: message }, `background push of ${name} failed`);
                await writeSpoolFile(area, `${name}.error`, JSON.stringify({ name, message })).catch(() => {});
              }
              await worker.beat();
            }
          };
          await Promise.all(Array.from({ length: Math.min(pushLanes(spool.parallel), todo.length) }, lane));
        } finally {
          await lock.release().catch(() => {});
        }
      }
    } finally {
      await pool?.close();
    }
    return report;
  } finally {
    await worker.release();
  }
}

/**
 * Segments the push has in hand at once: two per chunk worker, so that a worker takes its next
 * segment while the one it has just stored gets its index entries, record and mark written (and
 * synced) here; with one per worker it would wait idle through those writes.
 */
export function pushLanes(parallel: number): number {
  return 2 * Math.max(1, parallel);
}

async function removeStaleMarks(area: string, ready: ReadonlySet<string>): Promise<void> {
  const names = await fsp.readdir(area).catch(() => [] as string[]);
  for (const n of names) {
    const m = /^(.+)\.(ok|error)$/.exec(n);
    if (m && !ready.has(m[1]!)) await fsp.rm(join(area, n), { force: true });
  }
}

function same(existing: WalRecord, sha: string, name: string): void {
  if (existing.sha256 !== sha) {
    throw new PrismError(
      'PG_ARCHIVE_FAILED',
      `${name} is already archived with different content; refusing to replace it (two clusters archiving into one repository?).`,
      { name },
    );
  }
}

async function fileSha(path: string): Promise<string> {
  return (await fileDigest(path)).sha256;
}

export interface RestoreWalOptions {
  /** The spool (settings of backup.pitr); without it, nothing is fetched ahead. */
  spool?: WalSpoolSettings;
  /** Starts `prefetchWal(walDir, after)` in a background process. */
  startPrefetch?: (walDir: string, after: string) => void;
}

/**
 * `restore_command = 'prism pg restore-wal %f %p'`: writes an archived file to `path` (via a
 * temporary name, so PostgreSQL never sees part of it). Absent: PG_ARCHIVE_FAILED, a non-zero
 * exit, which is how PostgreSQL learns it has reached the end of the archive.
 *
 * With a spool and `prefetch` > 0, a segment's call starts the background fetch of the next ones
 * unless it runs (see prefetchWal); a call for a segment fetched ahead moves that file into place
 * once its size and SHA-256 are the record's (anything else in the spool is removed, never
 * served). Most such calls never get here: the lean start (servePrefetched) serves them against
 * the fetch's mark. A history file that is absent (PostgreSQL's probe for a next timeline, at the
 * start and the end of a recovery) empties the spool and stops its worker.
 */
export async function restoreWal(
  ctx: AppContext,
  name: string,
  path: string,
  o: RestoreWalOptions = {},
): Promise<{ name: string; size: number; prefetched?: true }> {
  checkWalName(name);
  const walDir = dirname(resolve(path));
  const area = o.spool ? spoolArea(o.spool, 'restore', ctx.config.storagePath, walDir) : undefined;
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', `prism pg restore-wal ${name}`, LOCK_WAIT_MS);
  const temp = join(walDir, `.${basename(path)}.prism-${process.pid}`);
  try {
    const record = await readWalRecord(repo, name);
    if (!record) {
      if (area && name.endsWith('.history')) await emptyRestoreSpool(area);
      throw new PrismError('PG_ARCHIVE_FAILED', `${name} is not in the WAL archive at ${ctx.config.storagePath}.`, { name, absent: true });
    }
    if (area && isSegmentName(name)) {
      await removeBefore(area, name);
      if (await serveFetched(area, record, temp, path)) {
        ctx.logger.info({ event: 'pg.wal.restored', name, prefetched: true }, `restored ${name} (fetched ahead)`);
        return { name, size: record.size, prefetched: true };
      }
      if (o.spool!.prefetch > 0) {
        // the fetch ahead is behind (or not started, or stopped by a history probe): it continues after this one
        await mkdirPrivateAsync(area);
        await fsp.rm(join(area, 'stop'), { force: true });
        await writeHint(area, 'at', name);
        if (o.startPrefetch && !(await liveWorker(area, ctx.clock))) o.startPrefetch(walDir, name);
      }
    }
    await writeRecordTo(repo, record, temp);
    await fsp.rename(temp, path);
    return { name, size: record.size };
  } catch (e) {
    await fsp.rm(temp, { force: true }).catch(() => {});
    throw asArchiveError(e, `restoring ${name}`);
  } finally {
    await lock.release().catch(() => {});
  }
}

async function writeRecordTo(repo: Repository, record: WalRecord, file: string): Promise<void> {
  const fh = await fsp.open(file, 'w', 0o600);
  try {
    for await (const chunk of readStream(repo, record.content, record.sha256)) await fh.write(chunk);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Moves the spool's copy of `record` to `path` if it is whole and the same (size and SHA-256); removes one that is not. */
async function serveFetched(area: string, record: WalRecord, temp: string, path: string): Promise<boolean> {
  const file = join(area, record.name);
  let digest: { size: number; sha256: string };
  try {
    digest = await fileDigest(file);
  } catch {
    await fsp.rm(join(area, `${record.name}.ok`), { force: true });
    return false;
  }
  if (digest.size !== record.size || digest.sha256 !== record.sha256) {
    await fsp.rm(file, { force: true });
    await fsp.rm(join(area, `${record.name}.ok`), { force: true });
    return false;
  }
  await moveInto(file, path, temp);
  await fsp.rm(join(area, `${record.name}.ok`), { force: true });
  return true;
}

/** Segments fetched ahead (and their marks) that PostgreSQL has gone past. */
async function removeBefore(area: string, name: string): Promise<void> {
  for (const n of await fsp.readdir(area).catch(() => [] as string[])) {
    const seg = n.endsWith('.ok') ? n.slice(0, -3) : n;
    if (isSegmentName(seg) && seg < name) await fsp.rm(join(area, n), { force: true });
  }
}

/** Says `stop` to the fetch ahead and removes the segments, their marks and the position it keeps (restore-wal's next miss takes `stop` away). */
async function emptyRestoreSpool(area: string): Promise<void> {
  const names = await fsp.readdir(area).catch(() => undefined);
  if (!names) return;
  await writeSpoolFile(area, 'stop', '');
  for (const n of names) if (isSegmentName(n.endsWith('.ok') ? n.slice(0, -3) : n) || n === 'at') await fsp.rm(join(area, n), { force: true });
}

/**
 * `recovery_end_command` of `prism pg restore` (`prism pg restore-end`, run by PostgreSQL in the
 * data directory once recovery has ended): stops the fetch ahead (its `stop` file, which stays:
 * a fetch started by one of the last restore-wal calls ends at once too; it is waited for up to
 * `waitMs`) and removes the segments it fetched, their marks and its position.
 */
export async function endRestore(ctx: AppContext, walDir: string, spool: WalSpoolSettings, waitMs = 10_000): Promise<{ removed: number }> {
  const area = spoolArea(spool, 'restore', ctx.config.storagePath, resolve(walDir));
  if (!(await exists(area))) return { removed: 0 };
  await writeSpoolFile(area, 'stop', '');
  const deadline = ctx.clock.now().getTime() + waitMs;
  while ((await liveWorker(area, ctx.clock)) && ctx.clock.now().getTime() < deadline) await ctx.clock.sleep(20);
  const removed = (await fsp.readdir(area).catch(() => [] as string[])).filter((n) => isSegmentName(n)).length;
  await emptyRestoreSpool(area);
  ctx.logger.info({ event: 'pg.wal.restore_end', removed }, `recovery ended: the spool of segments fetched ahead is empty`);
  return { removed };
}

/** The segment after `name` (segments of `size` bytes), on the same timeline. */
export function nextSegment(name: string, size: number): string {
  const perId = 0x100000000 / size;
  const log = parseInt(name.slice(8, 16), 16);
  const seg = parseInt(name.slice(16, 24), 16) + 1;
  const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
  return seg >= perId ? `${name.slice(0, 8)}${hex(log + 1)}${hex(0)}` : `${name.slice(0, 8)}${hex(log)}${hex(seg)}`;
}

export interface PrefetchOptions {
  /** The fetch ends when PostgreSQL has taken nothing from the spool for this long. */
  idleMs?: number;
}

const PREFETCH_IDLE_MS = 60_000;
const PREFETCH_POLL_MS = 20;
const BEAT_MS = 5_000;

/**
 * The background fetch (`prism pg restore-prefetch`, started by restore-wal): keeps the
 * `prefetch` segments after the one PostgreSQL is at in the spool, from `after` on: each written
 * under a temporary name, synced, renamed, then marked (`<name>.ok`: the record's size and
 * SHA-256). As PostgreSQL takes them (the spool shrinks) it fetches the next; when restore-wal had
 * to fetch one itself (`at`), it continues after that one. It ends at the first segment the
 * archive does not hold, when the spool's `stop` file appears, or when nothing has been taken for
 * `idleMs`. One worker per spool area; the repository is locked (shared) only while it fetches.
 */
export async function prefetchWal(
  ctx: AppContext,
  walDir: string,
  after: string,
  spool: WalSpoolSettings,
  o: PrefetchOptions = {},
): Promise<{ fetched: number }> {
  checkWalName(after);
  const area = spoolArea(spool, 'restore', ctx.config.storagePath, resolve(walDir));
  const worker = await takeWorker(area, ctx.clock);
  if (!worker) return { fetched: 0 };
  let fetched = 0;
  let lock: Awaited<ReturnType<typeof lockRepository>> | undefined;
  const unlock = async () => {
    await lock?.release().catch(() => {});
    lock = undefined;
  };
  try {
    await removeDeadTemps(area);
    if (await exists(join(area, 'stop'))) return { fetched }; // recovery has ended (or probes the next timeline)
    const repo = await openRepository(ctx);
    lock = await lockRepository(ctx, repo, 'shared', 'prism pg restore-prefetch', LOCK_WAIT_MS);
    const first = await readWalRecord(repo, after);
    if (!first || !isSegmentName(after) || !isSegmentSize(first.size) || spool.prefetch <= 0) return { fetched };
    const now = () => ctx.clock.now().getTime();
    let last = after;
    let active = now();
    let beat = now();
    let held = -1;
    for (;;) {
      if (await exists(join(area, 'stop'))) break;
      const at = await fsp.readFile(join(area, 'at'), 'utf8').catch(() => '');
      if (isSegmentName(at)) {
        if (at > last) last = at;
        await removeBefore(area, nextSegment(at, first.size)); // restore-wal fetched `at` itself: copies up to it are of no use
      }
      const ahead = (await fsp.readdir(area).catch(() => [] as string[])).filter(isSegmentName);
      if (ahead.length !== held) active = now(); // PostgreSQL took one (or this fetched one)
      held = ahead.length;
      if (ahead.length < spool.prefetch) {
        const name = nextSegment(last, first.size);
        if (!(await exists(join(area, `${name}.ok`)))) {
          lock ??= await lockRepository(ctx, repo, 'shared', 'prism pg restore-prefetch', LOCK_WAIT_MS);
          const record = await readWalRecord(repo, name);
          if (!record) break; // the end of the archive (a later restore-wal starts a fetch again)
          const temp = join(area, `.${name}.${process.pid}.tmp`);
          try {
            await writeRecordTo(repo, record, temp);
            if (await exists(join(area, 'stop'))) break;
            await fsp.rename(temp, join(area, name));
          } finally {
            await fsp.rm(temp, { force: true });
          }
          // the copy's identity: written, synced and renamed by this worker, in the area only its owner can write
          const file = await fileIdentity(join(area, name));
          await writeMark(area, { name, size: record.size, sha256: record.sha256, ...(file ? { file } : {}) });
          fetched++;
        }
        last = name;
      } else {
        await unlock();
        if (now() - active > (o.idleMs ?? PREFETCH_IDLE_MS)) break;
        await ctx.clock.sleep(PREFETCH_POLL_MS);
      }
      if (now() - beat >= BEAT_MS || ahead.length < spool.prefetch) {
        await worker.beat();
        beat = now();
      }
    }
    ctx.logger.info({ event: 'pg.wal.prefetch_end', fetched, last }, `fetched ${fetched} WAL segment(s) ahead, up to ${last}`);
    return { fetched };
  } finally {
    await unlock();
    await worker.release();
  }
}

export interface WalListReport {
  repository: string;
  base_backups: Array<Omit<BaseRecord, 'content' | 'label'> & { chunks: number }>;
  wal: Array<Omit<WalRecord, 'content'>>;
  /** Every timeline of the archive: the one it left and where, the segments archived on it. */
  timelines: TimelineSummary[];
  /** The restore points recorded (`prism pg restore-point`), oldest first. */
  restore_points: Awaited<ReturnType<typeof restorePointSummaries>>;
}

export async function listWal(ctx: AppContext): Promise<WalListReport> {
  const repo: Repository = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', 'prism pg wal list', LOCK_WAIT_MS);
  try {
    const bases = await listBaseRecords(repo);
    const wal = await listWalRecords(repo);
    return {
      repository: ctx.config.storagePath,
      base_backups: bases.map(({ content, label: _label, ...rest }) => ({ ...rest, chunks: content.length })),
      wal: wal.map(({ content: _c, ...rest }) => rest),
      timelines: await timelineSummaries(repo, wal, bases),
      restore_points: await restorePointSummaries(repo),
    };
  } finally {
    await lock.release().catch(() => {});
  }
}

export function asArchiveError(e: unknown, what: string): PrismError {
  const mapped = fromSystemError(e, what);
  if (isPrismError(mapped)) return mapped;
  return new PrismError('PG_ARCHIVE_FAILED', `Failed ${what}: ${(e as Error)?.message ?? String(e)}`);
}
