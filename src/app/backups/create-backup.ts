import { isRemoteLocation } from '../../core/remote-location.js';
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { CompressionError, type CompressionSettings } from '../../codec/compress.js';
import { defaultCompressionLevel } from '../../config/index.js';
import type { ProgressListener } from '../../core/progress.js';
import type { BackupTrigger, BackupType } from '../../core/types.js';
import { ERROR_CODES, PrismError, fromSystemError, isPrismError } from '../../errors/index.js';
import { emptyStats, type IndexedBlob, type Manifest, type Repository } from '../../repo/index.js';
import { archive, type ArchivePlan } from '../../snapshot/archiver.js';
import { READ_ATTEMPTS, type ReadHook } from '../../snapshot/file-processor.js';
import { walkSources, type WalkResult } from '../../source/fs/fs-walker.js';
import { uniqueBackupId } from './backup-id.js';
import { openDatabaseDumps, prepareDatabaseBackup, type DatabaseBackup, type DatabaseBackupResult, type OpeningDumps } from '../databases/db-backup.js';
import { lockRepository, openRepository, type AppContext } from '../context.js';
import { listFirst } from '../list-first.js';
import { withProgressFile } from '../monitoring/progress-file.js';
import { hasCompletedFull, latestCompleted } from './manifests.js';

export interface CreateBackupOptions {
  type: BackupType;
  comment?: string | undefined;
  trigger?: BackupTrigger;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
  /** How long to wait for another backup's lock (ms). */
  lockWaitMs?: number;
  /** Back up what exists of the included folders (the safety backup of a damaged data directory). */
  skipMissingSources?: boolean;
  /** Leave out backup.databases (the pre-restore backup of the files: a restore of files must not depend on the databases). */
  skipDatabases?: boolean;
  /** Told when this backup, the first, created the repository (at the path given). */
  onRepositoryCreated?: (path: string) => void;
  /** Called after each block of a file is read (tests change a file mid-read with it). */
  onRead?: ReadHook;
}

/** The most a backup's comment may hold, in UTF-8 bytes: a note, not a payload (it is in every listing). */
export const MAX_COMMENT_BYTES = 4096;

function checkComment(comment: string | undefined): void {
  if (comment === undefined) return;
  const bytes = Buffer.byteLength(comment, 'utf8');
  if (bytes > MAX_COMMENT_BYTES) {
    throw new PrismError(
      'INVALID_ARGUMENT',
      `--comment is ${bytes} bytes long; a comment holds at most ${MAX_COMMENT_BYTES} bytes. Shorten it (keep long notes in a file of the data directory).`,
      { flag: '--comment', bytes },
    );
  }
}

/** Backs up the data directory: one completed (or partial, or failed) manifest per call. Its progress goes to a progress file too. */
export function createBackup(ctx: AppContext, opts: CreateBackupOptions): Promise<Manifest> {
  return withProgressFile(ctx, 'backup', `backup ${opts.type}`, opts.onProgress, (onProgress) => createBackupReporting(ctx, { ...opts, onProgress }));
}

async function createBackupReporting(ctx: AppContext, opts: CreateBackupOptions): Promise<Manifest> {
  const { config, clock, logger } = ctx;
  if (!config.backup.enabled) throw new PrismError('BACKUP_DISABLED', 'Backups are disabled in config/backup.json (backup.enabled is false).');
  checkComment(opts.comment);
  if (!existsSync(config.home) && (isRemoteLocation(config.storagePath) || !existsSync(config.storagePath))) {
    // nothing to back up and no repository to record the attempt in: create nothing
    throw new PrismError('SOURCE_NOT_FOUND', `Source directory not found: ${config.home} does not exist (PRISM_HOME).`, { path: config.home });
  }
  const openDumps = (): OpeningDumps | undefined => (opts.skipDatabases ? undefined : openDatabaseDumps(ctx));
  // the databases connect and take their snapshots first (the slowest part of getting ready),
  // while the repository is opened and locked; but no snapshot is held open while waiting for
  // another backup's lock: with --lock-wait, they open once the lock is held
  let dumps = opts.lockWaitMs ? undefined : openDumps();
  const walkOptions = {
    home: config.home,
    include: config.backup.sources.include,
    exclude: config.backup.sources.exclude,
    skipMissing: opts.skipMissingSources ?? false,
  };
  // An encrypted repository derives its key on the thread pool first: the file system is walked
  // meanwhile (not when the backup may wait for another's lock: the walk would grow stale).
  let early: { walk: WalkResult } | { error: unknown } | undefined;
  const walkEarly = (): void => {
    try {
      early = { walk: walkSources(walkOptions) };
    } catch (e) {
      early = { error: e };
    }
  };
  let repo: Repository;
  let lock: Awaited<ReturnType<typeof lockRepository>>;
  try {
    repo = await openRepository(ctx, { create: true, ...(opts.lockWaitMs ? {} : { whileDeriving: walkEarly }) });
    if (repo.created) opts.onRepositoryCreated?.(config.storagePath);
    lock = await lockRepository(ctx, repo, 'backup', `prism backup create --type ${opts.type}`, opts.lockWaitMs ?? 0).catch((e) => {
      throw fromSystemError(e, `locking the repository at ${config.storagePath}`);
    });
  } catch (e) {
    await dumps?.abort();
    throw e;
  }
  const started = clock.now();
  const compression = compressionSettings(ctx);
  let manifest: Manifest | undefined;
  const written: IndexedBlob[] = [];
  /** The database half once prepared (and, once the attempt is recorded, started), until sideBySide has it. */
  let pendingDbs: { backup: DatabaseBackup; done?: Promise<DatabaseBackupResult> } | undefined;
  try {
    dumps ??= openDumps();
    // their chunk worker boots while the attempt is recorded
    if (dumps) pendingDbs = { backup: await prepareDatabaseBackup(ctx, dumps, repo, compression, (b) => written.push(...b)) };
    manifest = {
      format: 1,
      id: '',
      type: opts.type,
      status: 'running',
      trigger: opts.trigger ?? 'manual',
      parent: null,
      comment: opts.comment ?? null,
      host: config.host,
      user: safeUser(),
      home: config.home,
      sources: [...config.backup.sources.include],
      excludes: [...config.backup.sources.exclude],
      started_at: started.toISOString(),
      finished_at: null,
      duration_ms: null,
      tree: null,
      checksum: null,
      compression: { algorithm: compression.algorithm, level: compression.level, enabled: compression.enabled },
      stats: emptyStats(),
      error: null,
      warnings: [],
    };
    // claimed with a conditional create: two hosts starting in the same second get distinct ids
    const claimed = manifest;
    const id = await uniqueBackupId(started, opts.type, async (i) => !(await repo.createManifest({ ...claimed, id: i })));
    manifest.id = id;
    logger.info({ event: 'backup.start', id, type: opts.type, trigger: manifest.trigger, repository: config.storagePath }, `backup ${id} started`);
    if (pendingDbs) {
      // the dumps stream from now on (a process killed from here on leaves a recorded attempt)
      pendingDbs.done = pendingDbs.backup.run();
      pendingDbs.done.catch(() => {}); // awaited by sideBySide, or below after a failure before it
    }

    // an incremental builds on this host's own backups: another host's tree says nothing of these files
    // (not read back: this backup's own manifest, just written as running)
    const history = (await repo.listManifests(undefined, { exceptId: id })).filter((m) => m.host === config.host);
    const parent = latestCompleted(history, clock.now());
    if (opts.type === 'incremental' && !hasCompletedFull(history)) {
      throw new PrismError(
        'NO_FULL_BACKUP',
        'No completed full backup exists yet, so there is nothing for an incremental backup to build on. Run `prism backup create --type full` first.',
      );
    }
    manifest.parent = opts.type === 'incremental' ? parent!.id : null;
    const dbs = pendingDbs?.done ? { backup: pendingDbs.backup, done: pendingDbs.done } : undefined;
    pendingDbs = undefined;
    const [result, dbResult] = await sideBySide(
      async (signal) => {
        if (early && 'error' in early) throw early.error;
        const walk = early?.walk ?? walkSources(walkOptions);
        early = undefined;
        return archive({
          repo,
          repoRoot: config.storagePath,
          walk,
          parentTree: opts.type === 'incremental' ? parent!.tree! : undefined,
          compression,
          concurrency: config.concurrency,
          ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
          signal,
          beforeWrite: (plan) => checkSpace(repo, plan, parent),
          onBlobs: (b) => written.push(...b),
          ...(opts.onRead ? { onRead: opts.onRead } : {}),
        });
      },
      dbs,
      opts.signal,
    );
    await repo.writeIndex(written);
    written.length = 0;

    const finished = clock.now();
    const unreadable = result.warnings.filter((w) => w.code === 'PERMISSION_DENIED').map((w) => w.path);
    const changed = result.warnings.filter((w) => w.code === 'FILE_CHANGED').map((w) => w.path);
    manifest.status = unreadable.length > 0 || changed.length > 0 ? 'partial' : 'completed';
    manifest.tree = result.tree;
    manifest.checksum = `sha256:${result.tree}`;
    manifest.finished_at = finished.toISOString();
    manifest.duration_ms = finished.getTime() - started.getTime();
    manifest.warnings = result.warnings;
    manifest.stats = {
      files: result.files,
      dirs: result.dirs,
      symlinks: result.symlinks,
      original_bytes: result.originalBytes,
      stored_bytes: result.storedBytes,
      files_read: result.filesRead,
      bytes_read: result.bytesRead,
      new_blobs: result.newBlobs,
      new_bytes: result.newBytes,
      packs_written: result.packs,
    };
    if (dbResult) {
      manifest.db_tree = dbResult.archive.tree;
      manifest.databases = dbResult.records;
      const s = manifest.stats;
      const dumped = dbResult.records.reduce((n, r) => n + r.bytes, 0);
      s.original_bytes += dumped;
      s.stored_bytes += dbResult.archive.items.reduce((n, r) => n + r.storedBytes, 0);
      s.bytes_read += dumped;
      s.new_blobs += dbResult.archive.newBlobs;
      s.new_bytes += dbResult.archive.newBytes;
      s.packs_written += dbResult.archive.packs;
    }
    const alsoChanged =
      changed.length > 0 ? `; ${changed.length} file(s) changed while they were read and may be stored inconsistent: ${listFirst(changed)}` : '';
    if (unreadable.length > 0) {
      manifest.error = {
        code: ERROR_CODES.PERMISSION_DENIED.id,
        name: 'PERMISSION_DENIED',
        message: `${unreadable.length} path(s) could not be read and are missing from this backup: ${listFirst(unreadable)}${alsoChanged}`,
      };
    } else if (changed.length > 0) {
      manifest.error = {
        code: ERROR_CODES.FILE_CHANGED.id,
        name: 'FILE_CHANGED',
        message: `${changed.length} file(s) changed while they were read, ${READ_ATTEMPTS} times each, and may be stored inconsistent: ${listFirst(changed)}`,
      };
    }
    await repo.saveManifest(manifest);
    logger.info(
      { event: 'backup.done', id, status: manifest.status, stats: manifest.stats, duration_ms: manifest.duration_ms, warnings: manifest.warnings.length },
      `backup ${id} ${manifest.status}`,
    );
    return manifest;
  } catch (e) {
    const err = toPrismError(e);
    if (pendingDbs) {
      await pendingDbs.backup.abort().catch(() => {});
      await pendingDbs.done?.catch(() => {});
    }
    // packs that landed are valid and indexed (the next run reuses them); this backup's unfinished
    // ones go, but not those a concurrent `pg archive-wal` (shared lock only) is still writing
    await repo.removeUnfinishedPacks('own').catch(() => {});
    if (written.length > 0) await repo.writeIndex(written).catch(() => {});
    if (manifest) {
      const finished = clock.now();
      manifest.status = 'failed';
      manifest.tree = null;
      manifest.checksum = null;
      delete manifest.db_tree;
      delete manifest.databases;
      manifest.finished_at = finished.toISOString();
      manifest.duration_ms = finished.getTime() - started.getTime();
      manifest.error = { code: err.id, name: err.code, message: err.message };
      await repo.saveManifest(manifest).catch((saveErr) => {
        logger.error({ event: 'backup.record_failed', id: manifest!.id, error: String(saveErr) }, 'could not record the failed attempt');
      });
    }
    logger.error({ event: 'backup.failed', id: manifest?.id, code: err.id, error: err.message }, `backup failed: ${err.message}`);
    throw err;
  } finally {
    await lock.release().catch(() => {});
  }
}

/** The database half of a backup, started: `done` settles once its dumps are stored or have failed. */
interface RunningDatabaseBackup {
  backup: DatabaseBackup;
  done: Promise<DatabaseBackupResult>;
}

/**
 * The files and the databases are backed up at the same time: the dumps (started already) stream
 * while the files are read. The first failure stops the other side and is the one thrown;
 * `signal` (Ctrl-C) stops both. Resolves once both sides are done, whatever happened.
 */
async function sideBySide<F>(
  files: (signal: AbortSignal) => Promise<F>,
  dbs: RunningDatabaseBackup | undefined,
  signal: AbortSignal | undefined,
): Promise<[F, DatabaseBackupResult | undefined]> {
  const stop = new AbortController();
  const stopped = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
  let first: { error: unknown } | undefined;
  const fail = (error: unknown): never => {
    first ??= { error };
    stop.abort();
    throw error;
  };
  let aborting: Promise<void> | undefined;
  const abortDbs = (): void => {
    aborting ??= dbs?.backup.abort().catch(() => {});
  };
  if (stopped.aborted) abortDbs();
  stopped.addEventListener('abort', abortDbs, { once: true });
  try {
    const filesDone = stopped.aborted ? Promise.reject(stopped.reason as Error) : files(stopped).catch(fail);
    const both = await Promise.allSettled([filesDone, dbs ? dbs.done.catch(fail) : Promise.resolve(undefined)]);
    await aborting;
    signal?.throwIfAborted();
    if (first) throw first.error;
    return [(both[0] as PromiseFulfilledResult<F>).value, (both[1] as PromiseFulfilledResult<DatabaseBackupResult | undefined>).value];
  } finally {
    stopped.removeEventListener('abort', abortDbs);
  }
}

export function compressionSettings(ctx: AppContext): CompressionSettings {
  const c = ctx.config.backup.compression;
  return { enabled: c.enabled, algorithm: c.algorithm, level: c.level ?? defaultCompressionLevel(c.algorithm) };
}

/** ERR_BACKUP_001 before writing when free space is below twice the estimated write. */
async function checkSpace(repo: Repository, plan: ArchivePlan, parent: Manifest | undefined): Promise<void> {
  const space = await repo.space();
  if (!space) return;
  const ratio = parent && parent.stats.original_bytes > 0 ? Math.max(parent.stats.stored_bytes / parent.stats.original_bytes, 0.05) : 1;
  const estimate = Math.ceil(plan.bytesToRead * ratio) + 1024 * 1024;
  if (space.free < 2 * estimate) {
    throw new PrismError(
      'DISK_SPACE_INSUFFICIENT',
      `Disk space insufficient at ${repo.location}: ${mb(space.free)} free, but this backup may write up to ${mb(estimate)} and prism requires twice that (${mb(2 * estimate)}).`,
      { free: space.free, estimate },
    );
  }
}

function mb(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

function toPrismError(e: unknown): PrismError {
  const mapped = fromSystemError(e, 'writing the backup');
  if (isPrismError(mapped)) return mapped;
  const err = e as Error & { code?: string; originalName?: string };
  if (err instanceof CompressionError || err?.originalName === 'CompressionError') {
    return new PrismError('COMPRESSION_FAILED', `${ERROR_CODES.COMPRESSION_FAILED.title}: ${err.message}`);
  }
  if (err?.name === 'AbortError' || err?.code === 'ABORT_ERR')
    return new PrismError('INTERRUPTED', 'Backup interrupted; nothing partial is visible. Run it again.');
  return new PrismError('INTERNAL', `Unexpected error: ${err?.message ?? String(e)}`, {}, { cause: e });
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return String(process.getuid?.() ?? 'unknown');
  }
}
