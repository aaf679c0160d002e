import { Cron } from 'croner';
import { PrismError, isPrismError } from '../../errors/index.js';
import { afterRotation, planRotation, type RotationPlan } from '../../policy/verify-rotation.js';
import type { Manifest, PackDamage } from '../../repo/index.js';
import { unreadableTrees } from '../../snapshot/chunk-repair.js';
import { checkPacksWhole, checkRepository, type RepositoryCheck } from '../../snapshot/checker.js';
import { archiveChecks, scanArchives, type ArchiveScan } from './archive-objects.js';
import { checkableBackups, recordDamagedManifests, type DamagedManifest } from './checkable-backups.js';
import { lockRepository, openRepository, type AppContext } from '../context.js';
import { recordRepositoryEvent } from '../monitoring/events.js';
import { repairDamage, type DamageOutcome } from './repair-damage.js';
import { recordTask, type TaskTrigger } from '../monitoring/task-log.js';
import { referencedBlobs } from '../maintenance/prune-repository.js';
import { loadVerifyState, saveVerifyState, type VerifyState } from './verify-state.js';

export interface BackgroundVerifyOptions {
  signal?: AbortSignal;
  trigger?: TaskTrigger;
  /** How long to wait for the repository lock: a prune or cleanup before reading, running backups before a repair (default 30 min). */
  lockWaitMs?: number;
  /** Record the run itself as a `verify` task (default true; the service records its jobs itself). Repairs are always recorded. */
  recordRun?: boolean;
}

export interface BackgroundVerifyReport extends DamageOutcome {
  /** Nothing damaged is left: no damaged manifest, every damaged backup repaired, no damage in a point-in-time archive. */
  ok: boolean;
  trigger: TaskTrigger;
  started_at: string;
  finished_at: string;
  period_days: number;
  /** Runs of backup.schedule.verify within one period; each reads about packs_total / runs_per_period packs. */
  runs_per_period: number;
  next_run: string | null;
  /** Packs holding data of the backups and of the point-in-time archives (WAL, base backups, binary logs). */
  packs_total: number;
  /** Packs whose data this run read (least recently read first). */
  packs_read: string[];
  share: number;
  overdue: number;
  backups_checked: number;
  damaged_manifests: DamagedManifest[];
  /** Chunks found missing or damaged (trees and index are checked every run; data only in the packs read). */
  damaged_chunks: number;
  /** Point-in-time archives (`pg`, `mysql`) with damaged records or data in the packs read; raised as a verify_failed alert until `verify --all` finds them whole. */
  damaged_archives: string[];
  /** Backups already marked corrupted before this run that are still damaged (no new event). */
  still_corrupted: string[];
  /** Packs read whose bytes are damaged outside the chunks checked (magic, trailer, end, other frames): `prism backup repair index` copies what is intact out of them. */
  damaged_packs: PackDamage[];
}

const COMMAND = 'prism backup verify --background';
const DEFAULT_LOCK_WAIT_MS = 30 * 60_000;
/** Runs per period are counted up to this many, or one more than the packs (beyond, each run reads one pack anyway). */
const RUNS_COUNTED = 200;

/**
 * One run of the background consistency check: trees and index of every backup, plus the data of
 * the packs least recently read, as many as keep every pack re-read within
 * backup.verification.period_days given how often backup.schedule.verify runs. Damaged chunks are
 * re-stored from the live files where they still hold the content; otherwise the affected
 * backups are marked corrupted, an event raised and a full backup asked for. Each step goes to the
 * task log (jobs `verify` and `repair`).
 */
export async function backgroundVerify(ctx: AppContext, opts: BackgroundVerifyOptions = {}): Promise<BackgroundVerifyReport> {
  const trigger = opts.trigger ?? 'manual';
  const started = ctx.clock.now();
  const home = ctx.config.home;
  try {
    return await run(ctx, opts, trigger, started);
  } catch (e) {
    const err = asPrismError(e);
    if (opts.recordRun !== false)
      recordTask(home, {
        job: 'verify',
        trigger,
        started_at: started.toISOString(),
        finished_at: ctx.clock.now().toISOString(),
        status: err.code === 'INTERRUPTED' ? 'aborted' : 'failed',
        error_code: err.id,
        message: err.message,
      });
    if (err.code === 'REPO_CORRUPT' || err.code === 'INDEX_DAMAGED')
      recordRepositoryEvent(ctx, { time: ctx.clock.now().toISOString(), severity: 'high', event: 'verify.failed', message: err.message });
    throw err;
  }
}

async function run(ctx: AppContext, opts: BackgroundVerifyOptions, trigger: TaskTrigger, started: Date): Promise<BackgroundVerifyReport> {
  const { config, clock } = ctx;
  const cron = config.backup.schedule.verify;
  const periodDays = config.backup.verification.period_days;
  const periodEnd = new Date(started.getTime() + periodDays * 86_400_000);
  scheduledRuns(cron, started, started, 1); // a bad expression fails before anything is locked
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', COMMAND, opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS);
  let check: RepositoryCheck;
  let plan: RotationPlan | undefined;
  let manifests: Manifest[];
  const damagedManifests: DamagedManifest[] = [];
  let badTrees: string[] = [];
  let suspects: Manifest[] = [];
  let state: VerifyState;
  let archives: ArchiveScan;
  try {
    manifests = await checkableBackups(repo, damagedManifests);
    state = await loadVerifyState(repo);
    await repo.loadIndex();
    // a backup marked corrupted (by `verify`) since the last run is read whole once: its damage is then dealt with
    suspects = manifests.filter((m) => m.status === 'corrupted' && !state.corrupted_checked.includes(m.id));
    const suspectPacks = new Set<string>();
    for (const id of await referencedBlobs(repo, suspects).catch(() => new Set<string>())) {
      const loc = repo.index.get(id);
      if (loc) suspectPacks.add(loc.pack);
    }
    const pick = (packs: readonly string[]) => {
      plan = planRotation({
        packs,
        state: state.packs,
        now: started,
        periodDays,
        runs: scheduledRuns(cron, started, periodEnd, Math.max(packs.length + 1, RUNS_COUNTED)),
      });
      return [...plan.read, ...[...suspectPacks].filter((p) => !plan!.read.includes(p))];
    };
    // the point-in-time archives' packs rotate with the backups' packs
    archives = await scanArchives(repo);
    check = await checkRepository({
      repo,
      manifests,
      data: { kind: 'pick', pick },
      objects: archives.objects,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    // a pack where damage was found counts as unread: the next run reads it first again, and so
    // sees whether the repair below took (even if this run is killed half-way through it)
    const damagedPacks = new Set([...[...check.damagedChunks.keys()].map((id) => repo.index.get(id)?.pack), ...check.damagedPacks.map((d) => d.pack)]);
    const clean = check.packsRead.filter((p) => !damagedPacks.has(p));
    state = {
      packs: afterRotation(state.packs, check.dataPacks, clean, started),
      corrupted_checked: manifests.filter((m) => m.status === 'corrupted').map((m) => m.id),
    };
    await saveVerifyState(repo, state);
    const treeFailures = check.backups.filter((b) => b.steps.some((s) => s.name === 'trees' && !s.ok)).map((b) => manifests.find((m) => m.id === b.id)!.tree!);
    if (treeFailures.length > 0) badTrees = [...(await unreadableTrees(repo, treeFailures))].filter((id) => repo.index.hasHex(id) || repo.hasDamagedCopy(id));
  } finally {
    await lock.release();
  }
  const p = plan!;
  // a partial read cannot clear an archive's alert: only failures are recorded (verify --all clears)
  const archive = archiveChecks(ctx, archives!, check.objects, false);
  const archiveDamaged = [...(archive.pg && !archive.pg.ok ? ['pg'] : []), ...(archive.mysql && !archive.mysql.ok ? ['mysql'] : [])];
  recordDamagedManifests(ctx, damagedManifests);
  const failing = check.backups.filter((b) => !b.ok);
  const readAt = clock.now().toISOString();
  if (opts.recordRun !== false)
    recordTask(config.home, {
      job: 'verify',
      trigger,
      started_at: started.toISOString(),
      finished_at: readAt,
      status: failing.length === 0 && damagedManifests.length === 0 ? 'ok' : 'failed',
      ...(failing.length > 0 ? { error_code: 'ERR_BACKUP_005', message: `${failing.length} backup(s) with missing or damaged data` } : {}),
      details: {
        action: 'read',
        packs_read: check.packsRead.length,
        packs_total: check.dataPacks.length,
        runs_per_period: p.runsPerPeriod,
        backups: manifests.length,
        damaged_chunks: check.damagedChunks.size,
        damaged_manifests: damagedManifests.length,
      },
    });
  ctx.logger.info(
    { event: 'verify.background', packs_read: check.packsRead.length, packs_total: check.dataPacks.length, failing: failing.length },
    'background verification read',
  );

  let outcome: DamageOutcome = {
    repaired: { chunks: 0, files: [], packs_written: 0 },
    repaired_backups: [],
    unrecoverable_chunks: 0,
    forgotten_blobs: 0,
    corrupted: [],
    cleared: [],
    needsFullBackup: false,
  };
  let stillCorrupted: string[] = [];
  const statusOf = (id: string) => manifests.find((m) => m.id === id)!.status;
  // fresh damage: a backup not yet marked or marked by `verify` since the last run, or damaged copies the index still names (a new backup would reuse them)
  const fresh =
    failing.some((b) => statusOf(b.id) !== 'corrupted' || suspects.some((m) => m.id === b.id)) ||
    badTrees.length > 0 ||
    check.missingPacks.length > 0 ||
    [...check.damagedChunks.keys()].some((id) => repo.index.hasHex(id));
  if (fresh) {
    opts.signal?.throwIfAborted();
    const exclusive = await lockRepository(ctx, repo, 'exclusive', COMMAND, opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS);
    try {
      outcome = await repairDamage(ctx, { check, failing, badTrees, trigger });
      // the backups just marked were read in this run: not suspects next time
      if (outcome.corrupted.length > 0)
        await saveVerifyState(repo, { ...state!, corrupted_checked: [...state!.corrupted_checked, ...outcome.corrupted.map((c) => c.id)] });
    } finally {
      await exclusive.release();
    }
  }
  // damage in frames is dealt with by the repair above: a pack counts as damaged if it still is afterwards
  let damagedPacks = check.damagedPacks;
  if (fresh && damagedPacks.some((d) => d.part === 'frames')) {
    const after = await checkPacksWhole(
      await openRepository(ctx),
      damagedPacks.filter((d) => d.part === 'frames').map((d) => d.pack),
    );
    damagedPacks = [...damagedPacks.filter((d) => d.part !== 'frames'), ...after];
  }
  const handled = new Set([...outcome.corrupted.map((c) => c.id), ...outcome.cleared, ...outcome.repaired_backups]);
  stillCorrupted = failing.filter((b) => !handled.has(b.id) && statusOf(b.id) === 'corrupted').map((b) => b.id);
  const unrepaired = failing.filter((b) => !outcome.repaired_backups.includes(b.id) && !outcome.cleared.includes(b.id));
  return {
    ok: damagedManifests.length === 0 && unrepaired.length === 0 && archiveDamaged.length === 0 && damagedPacks.length === 0,
    trigger,
    started_at: started.toISOString(),
    finished_at: clock.now().toISOString(),
    period_days: periodDays,
    runs_per_period: p.runsPerPeriod,
    next_run: p.nextRun?.toISOString() ?? null,
    packs_total: check.dataPacks.length,
    packs_read: check.packsRead,
    share: p.share,
    overdue: p.overdue,
    backups_checked: manifests.length,
    damaged_manifests: damagedManifests,
    damaged_chunks: check.damagedChunks.size,
    damaged_archives: archiveDamaged,
    ...outcome,
    still_corrupted: stillCorrupted,
    damaged_packs: damagedPacks,
  };
}

/** The times the cron expression fires after `now`, up to `until` (at least the first), at most `max` of them. */
function scheduledRuns(cron: string, now: Date, until: Date, max: number): Date[] {
  let job: Cron;
  try {
    job = new Cron(cron);
  } catch (e) {
    throw new PrismError('CONFIG_INVALID', `backup.schedule.verify = ${JSON.stringify(cron)}: ${(e as Error).message}`, {
      key: 'backup.schedule.verify',
      value: cron,
    });
  }
  const out: Date[] = [];
  for (let t = job.nextRun(now); t && out.length < max && (out.length === 0 || t <= until); t = job.nextRun(t)) out.push(t);
  return out;
}

function asPrismError(e: unknown): PrismError {
  if (isPrismError(e)) return e;
  const err = e as Error & { code?: string };
  if (err?.name === 'AbortError' || err?.code === 'ABORT_ERR')
    return new PrismError('INTERRUPTED', 'Background verification interrupted; nothing was changed half-way. The next run goes on from what was read.');
  return new PrismError('INTERNAL', `Unexpected error: ${err?.message ?? String(e)}`, {}, { cause: e });
}
