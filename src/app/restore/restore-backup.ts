import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PRISM_RUNTIME_NAMES } from '../../core/reserved-names.js';
import type { ProgressListener } from '../../core/progress.js';
import { ERROR_CODES, PrismError, fromSystemError, isPrismError } from '../../errors/index.js';
import type { Manifest, Repository } from '../../repo/index.js';
import { compareWithTarget, type TargetPlan } from '../../snapshot/compare-target.js';
import { restoreTree, startRestoreWorkers, type RestorePool, type RestoreProblem } from '../../snapshot/restorer.js';
import { normalizeBackupPath } from '../../snapshot/tree-walk.js';
import { lstatBelow, mkdirBelow } from '../../source/fs/path-below.js';
import { finishSwap, journalPath, readJournal, recoverSwap, rollbackSwap, runSwap, writeJournal, type SwapJournal } from '../../source/fs/swap-journal.js';
import { openRepository, type AppContext } from '../context.js';
import { listFirst } from '../list-first.js';
import { createBackup } from '../backups/create-backup.js';
import { markSharingBackups } from '../integrity/mark-corrupted.js';
import { resolveBackup } from '../backups/resolve-backup.js';
import { runningServicePid } from '../monitoring/service-state.js';
import { withProgressFile } from '../monitoring/progress-file.js';
import { restoreUnits } from './restore-units.js';
import { mkdirPrivate } from '../../core/private-files.js';

export interface RestoreOptions {
  id?: string | undefined;
  at?: Date | undefined;
  /** Default: the live data directory (PRISM_HOME). */
  target?: string | undefined;
  dryRun?: boolean;
  confirm?: boolean;
  force?: boolean;
  safetyBackup?: boolean;
  include?: readonly string[];
  exclude?: readonly string[];
  /** Apply only the changes since the parent: the target must be in the parent's state. */
  incremental?: boolean;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export interface PlanSummary {
  create: { count: number; bytes: number };
  overwrite: { count: number; bytes: number };
  remove: { count: number; bytes: number };
  unchanged: number;
}

export interface RestoreResult {
  backup: string;
  target: string;
  live: boolean;
  dry_run: boolean;
  plan: PlanSummary;
  changes?: { create: string[]; overwrite: string[]; remove: string[] };
  safety_backup: string | null;
  /** Top-level entries of the backup left as they are: prism's own files in the live data directory (logs/ …). */
  untouched: string[];
  files: number;
  dirs: number;
  symlinks: number;
  bytes: number;
  resumed_files: number;
  problems: RestoreProblem[];
  duration_ms: number;
}

/** Restores a backup into the live data directory or another target, transactionally. Its progress goes to a progress file too. */
export function restoreBackup(ctx: AppContext, opts: RestoreOptions): Promise<RestoreResult> {
  return withProgressFile(ctx, 'restore', 'restore', opts.onProgress, (onProgress) => restoreBackupReporting(ctx, { ...opts, onProgress }));
}

async function restoreBackupReporting(ctx: AppContext, opts: RestoreOptions): Promise<RestoreResult> {
  const { config, clock, logger } = ctx;
  const started = clock.now().getTime();
  const target = resolve(opts.target ?? config.home);
  const live = target === resolve(config.home);
  const repo = await openRepository(ctx);
  const log = (event: string, data: Record<string, unknown> = {}) => logger.info({ event: `restore.${event}`, target, ...data }, event);

  const protect = live ? PRISM_RUNTIME_NAMES : [];
  if (existsSync(target)) {
    const recovered = recoverSwap(target, protect);
    if (recovered === 'completed') log('recovered', { note: 'an interrupted swap was completed before this restore' });
  }
  const lock = await repo.lock('shared', 'prism backup restore');
  let workers: RestorePool | undefined;
  try {
    await repo.loadIndex();
    const m = await resolveBackup(repo, { id: opts.id, at: opts.at });
    // the threads that will write the files start while the restore is planned
    workers = opts.dryRun
      ? undefined
      : startRestoreWorkers({
          repo,
          repoRoot: config.storagePath,
          concurrency: config.concurrency,
          verify: config.backup.checksum.verify_on_restore,
          expectedBytes: m.stats.original_bytes,
        });
    const include = (opts.include ?? []).map((p) => normalizeBackupPath('--include', p)).filter((p) => p.length > 0);
    const exclude = (opts.exclude ?? []).map((p) => normalizeBackupPath('--exclude', p)).filter((p) => p.length > 0);
    const select = (p: string) => !exclude.some((e) => p === e || p.startsWith(`${e}/`));
    const { units, untouched } = await restoreUnits(repo, m, { target, live, configured: config.backup.sources.include, include, exclude, select });
    const plan = await compareWithTarget(repo, m.tree!, target, units, select);
    const summary = summarize(plan);
    log('plan', { backup: m.id, units, ...summary });
    const base: RestoreResult = {
      backup: m.id,
      target,
      live,
      dry_run: Boolean(opts.dryRun),
      plan: summary,
      safety_backup: null,
      untouched,
      files: 0,
      dirs: 0,
      symlinks: 0,
      bytes: 0,
      resumed_files: 0,
      problems: [],
      duration_ms: 0,
    };
    if (opts.dryRun) {
      return {
        ...base,
        changes: { create: plan.create.map((c) => c.path), overwrite: plan.overwrite.map((c) => c.path), remove: plan.remove.map((c) => c.path) },
        duration_ms: clock.now().getTime() - started,
      };
    }
    const destructive = plan.overwrite.length + plan.remove.length > 0;
    if (destructive && !opts.confirm) {
      throw new PrismError(
        'CONFIRMATION_REQUIRED',
        `Restoring ${m.id} into ${target} overwrites ${plan.overwrite.length} and deletes ${plan.remove.length} entries. Preview with --dry-run; run again with --confirm to do it.`,
      );
    }
    if (live) {
      const pid = runningServicePid(config.home);
      if (pid !== undefined && !opts.force) {
        throw new PrismError(
          'SERVICE_RUNNING',
          `The prism service is running (pid ${pid}) on ${config.home}; stop it before restoring (SOP 3.1), or pass --force.`,
          { pid },
        );
      }
    }
    if (opts.incremental) await checkIncrementalBase(repo, m, target, units, select);

    const job: RestoreJob = { m, target, units, exclude, select, plan, base, opts, started, log, workers };
    // staging reads (and checks) every chunk first: damage found there is dropped from the index
    // before the safety backup runs, so that backup stores fresh copies instead of reusing it
    const staged = await stage(ctx, repo, job);
    let held = lock;
    if (live && destructive && opts.safetyBackup !== false && existsSync(config.home)) {
      // the safety backup takes its own locks (and may apply retention under an exclusive one)
      await lock.release();
      const safety = await createBackup(ctx, {
        type: 'full',
        comment: `Pre-restore backup (before restoring ${m.id})`,
        skipMissingSources: true,
        skipDatabases: true,
      });
      base.safety_backup = safety.id;
      log('safety_backup', { id: safety.id, status: safety.status });
      held = await repo.lock('shared', 'prism backup restore');
    }
    try {
      return swap(ctx, job, staged);
    } finally {
      await held.release();
    }
  } finally {
    await workers?.close(); // a refusal or failure before staging ended
    await lock.release();
  }
}

/** What stage and swap work from: the backup, where it goes, and the plan made from both. */
interface RestoreJob {
  m: Manifest;
  target: string;
  units: string[];
  exclude: string[];
  select: (p: string) => boolean;
  plan: TargetPlan;
  base: RestoreResult;
  opts: RestoreOptions;
  started: number;
  log: (event: string, data?: Record<string, unknown>) => void;
  /** Threads started ahead to write the files (closed once staging ends). */
  workers: RestorePool | undefined;
}

/** A restore staged whole: its journal and what was written. */
interface Staged {
  journal: SwapJournal;
  restored: Awaited<ReturnType<typeof restoreTree>>;
}

/** Writes the backup into the staging directory; damage found there marks the backups that hold it corrupted (and refuses a live restore). */
async function stage(ctx: AppContext, repo: Repository, job: RestoreJob): Promise<Staged> {
  const { m, target, units, select, plan, base, opts, log } = job;
  mkdirPrivate(target);
  const previous = readJournal(target, base.live ? PRISM_RUNTIME_NAMES : []);
  let journal: SwapJournal;
  const resume = previous !== undefined && previous.backup === m.id && previous.state === 'staging';
  if (resume) {
    journal = previous;
    log('resume', { staging: journal.staging });
  } else {
    if (previous) finishSwap(target, previous);
    const tag = `${m.id}-${ctx.clock.now().getTime()}`;
    journal = { backup: m.id, staging: `.prism-restore-${tag}`, trash: `.prism-restore-old-${tag}`, steps: [], done: 0, state: 'staging' };
    writeJournal(target, journal);
  }
  const stagingDir = join(target, journal.staging);
  mkdirBelow(target, journal.staging, 0o700);
  log('staging', { dir: stagingDir });
  let restored;
  try {
    restored = await restoreTree({
      repo,
      tree: m.tree!,
      entries: plan.entries,
      dest: stagingDir,
      select: (p) => select(p) && units.some((u) => p === u || p.startsWith(`${u}/`) || u.startsWith(`${p}/`)),
      verify: ctx.config.backup.checksum.verify_on_restore,
      repoRoot: ctx.config.storagePath,
      concurrency: ctx.config.concurrency,
      resume,
      ...(job.workers ? { workers: job.workers } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (e) {
    const failure = wrapFailure(e, 'while restoring into the staging directory');
    // an interrupted staging area is kept so that a re-run resumes it; any other failure frees its space
    if (failure.code !== 'INTERRUPTED') finishSwap(target, journal);
    log('failed', { phase: 'staging', code: failure.id, error: failure.message });
    throw failure;
  }
  await job.workers?.close(); // their memory is free before a safety backup runs
  log('staged', { files: restored.files, bytes: restored.bytes, skipped: restored.skipped, problems: restored.problems.length });
  if (restored.problems.some((p) => p.code === ERROR_CODES.CHECKSUM_MISMATCH.id || p.code === ERROR_CODES.REPO_CORRUPT.id)) {
    // the damaged copies were recorded as they were read: mark every backup that needs them
    const marked = await markSharingBackups(ctx, [], { source: 'restore' });
    log('marked_corrupted', { backups: marked });
  }
  if (restored.problems.length > 0 && base.live) {
    finishSwap(target, journal);
    throw new PrismError(
      'CHECKSUM_MISMATCH',
      `Backup ${m.id} could not be restored whole: ${restored.problems.length} file(s) are damaged (${listFirst(restored.problems.map((p) => p.path))}). Nothing was changed; run \`prism backup verify ${m.id} --verbose\`.`,
      { problems: restored.problems },
    );
  }
  return { journal, restored };
}

/** Moves the staged units into place (journaled, rolled back on failure). */
function swap(ctx: AppContext, job: RestoreJob, { journal, restored }: Staged): RestoreResult {
  const { m, target, units, exclude, base, started, log } = job;
  journal.steps = swapSteps(target, journal, units, exclude);
  try {
    runSwap(target, journal, (from, to) => log('swap', { from, to }));
  } catch (e) {
    log('rollback', { error: String((e as Error).message), done: journal.done });
    try {
      rollbackSwap(target, journal, (from, to) => log('rollback_step', { from, to }));
      finishSwap(target, journal);
    } catch (r) {
      // the journal stays 'swapping': the next restore or health check completes the swap
      log('rollback_failed', { error: String((r as Error).message), done: journal.done });
      throw new PrismError(
        'RESTORE_RECOVERY_FAILED',
        `Restore of ${m.id} failed while swapping (${(e as Error).message}) and could not be rolled back (${(r as Error).message}).`,
        { journal: journalPath(target) },
        { cause: r },
      );
    }
    throw wrapFailure(e, 'while swapping the restored data into place; the previous data is back');
  }
  finishSwap(target, journal);
  const result: RestoreResult = {
    ...base,
    files: restored.files,
    dirs: restored.dirs,
    symlinks: restored.symlinks,
    bytes: restored.bytes,
    resumed_files: restored.skipped,
    problems: restored.problems,
    duration_ms: ctx.clock.now().getTime() - started,
  };
  log('done', { backup: m.id, files: result.files, bytes: result.bytes, duration_ms: result.duration_ms });
  return result;
}

/** Renames that put the staged units in place: live excluded paths move into the staged tree first. */
function swapSteps(target: string, j: SwapJournal, units: string[], exclude: string[]): Array<[string, string]> {
  const steps: Array<[string, string]> = [];
  for (const u of units) {
    for (const e of exclude) {
      if (e.startsWith(`${u}/`) && lstatBelow(target, e)) steps.push([e, `${j.staging}/${e}`]);
    }
    if (exclude.includes(u)) continue;
    if (lstatBelow(target, u)) steps.push([u, `${j.trash}/${u}`]);
    if (lstatBelow(target, `${j.staging}/${u}`)) steps.push([`${j.staging}/${u}`, u]);
  }
  return steps;
}

async function checkIncrementalBase(repo: Repository, m: Manifest, target: string, units: string[], select: (p: string) => boolean): Promise<void> {
  if (!m.parent)
    throw new PrismError('INCREMENTAL_BASE_MISMATCH', `${m.id} is a full backup: it has no parent to apply changes to. Restore it without --incremental.`);
  const parent = await repo.loadManifest(m.parent);
  const diff = await compareWithTarget(repo, parent.tree!, target, units, select);
  const off = diff.create.length + diff.overwrite.length + diff.remove.length;
  if (off > 0) {
    throw new PrismError(
      'INCREMENTAL_BASE_MISMATCH',
      `${target} is not in the state of ${parent.id} (${off} entries differ, e.g. ${[...diff.overwrite, ...diff.create, ...diff.remove][0]!.path}); --incremental applies only the changes since that backup.`,
      { parent: parent.id, differing: off },
    );
  }
}

function summarize(p: TargetPlan): PlanSummary {
  const sum = (xs: { bytes: number }[]) => ({ count: xs.length, bytes: xs.reduce((s, x) => s + x.bytes, 0) });
  return { create: sum(p.create), overwrite: sum(p.overwrite), remove: sum(p.remove), unchanged: p.unchanged };
}

function wrapFailure(e: unknown, where: string): PrismError {
  if (isPrismError(e)) return e;
  const err = e as Error & { name?: string; code?: string };
  if (err.name === 'AbortError' || err.code === 'ABORT_ERR')
    return new PrismError('INTERRUPTED', `Restore interrupted ${where}; the data directory is unchanged. Run the restore again to resume.`);
  const mapped = fromSystemError(e, where.replace(/^while /, ''));
  if (isPrismError(mapped)) return mapped;
  return new PrismError('RESTORE_FAILED', `Restore failed ${where}: ${err.message}`, {}, { cause: e });
}
