import { join } from 'node:path';
import { supersedeBlobs, type Manifest } from '../../repo/index.js';
import { storeChunksFromSources } from '../../snapshot/chunk-repair.js';
import { checkBackups, type BackupCheck, type RepositoryCheck } from '../../snapshot/checker.js';
import { openRepository, type AppContext } from '../context.js';
import { compressionSettings } from '../backups/create-backup.js';
import { markCorrupted } from './mark-corrupted.js';
import { recordTask, type TaskRecord, type TaskTrigger } from '../monitoring/task-log.js';

export interface DamageOutcome {
  /** Chunks re-stored from live files that still hold their content. */
  repaired: { chunks: number; files: string[]; packs_written: number };
  /** Backups whose every damaged chunk was re-stored (they are whole again). */
  repaired_backups: string[];
  /** Damaged chunks no live file holds any more. */
  unrecoverable_chunks: number;
  /** Damaged copies (chunks and trees) removed from the index, so the next backup stores them afresh. */
  forgotten_blobs: number;
  /** Backups marked corrupted by this run. */
  corrupted: Array<{ id: string; damaged: string[] }>;
  /** Backups marked corrupted earlier that were repaired and read back whole: completed again. */
  cleared: string[];
  /** The scheduler should run a full backup now: data a backup needs was lost and could not be repaired (not only unreferenced data in a lost pack). */
  needsFullBackup: boolean;
}

export interface DamageInput {
  check: RepositoryCheck;
  failing: readonly BackupCheck[];
  /** Unreadable trees the index still names. */
  badTrees: readonly string[];
  trigger: TaskTrigger;
}

/**
 * Deals with what a check found, under the exclusive lock the caller holds: re-checks each
 * damaged chunk (another run may have fixed it), re-stores those the live files still hold into a
 * new pack and points the index at the copies; forgets the rest (and unreadable trees) so new
 * backups store them afresh; marks the backups that stay damaged corrupted (event, task log).
 */
export async function repairDamage(ctx: AppContext, input: DamageInput): Promise<DamageOutcome> {
  const { check, failing, trigger } = input;
  const started = ctx.clock.now().toISOString();
  /** One `repair` line of the task log (repair, forget or mark). */
  const record = (r: Pick<TaskRecord, 'status' | 'message' | 'details' | 'error_code'>): void =>
    recordTask(ctx.config.home, { job: 'repair', trigger, started_at: started, finished_at: ctx.clock.now().toISOString(), ...r });
  const repo = await openRepository(ctx);
  const index = await repo.loadIndex();
  const wanted = new Set<string>();
  for (const id of check.damagedChunks.keys()) {
    if (!index.hasHex(id)) wanted.add(id);
    else await repo.readBlob(id).catch(() => wanted.add(id));
  }
  // a damaged frame takes every blob in it along: those the checked trees did not lead to (trees,
  // chunks below an unreadable tree) are re-read too, so no damaged copy stays known
  const frames = new Set<string>();
  for (const id of [...wanted, ...input.badTrees]) {
    for (const loc of [index.get(id), ...repo.damagedLocations(id)]) if (loc) frames.add(`${loc.pack}:${loc.frameOffset}`);
  }
  if (frames.size > 0) {
    for (const b of index.entries()) if (!wanted.has(b.id) && frames.has(`${b.pack}:${b.frameOffset}`)) await repo.readBlob(b.id).catch(() => wanted.add(b.id));
  }
  const sources = new Map<string, string>();
  for (const f of check.damagedFiles) if (f.chunks.some((c) => wanted.has(c))) sources.set(f.path, join(ctx.config.home, f.path));
  const stored =
    wanted.size > 0 && sources.size > 0
      ? await storeChunksFromSources(
          repo,
          [...sources].map(([path, file]) => ({ path, file })),
          wanted,
          compressionSettings(ctx),
        )
      : undefined;
  const found = stored?.found ?? new Map<string, string>();
  // copies recorded as damaged (by a restore or verify) are settled here too: the rewrite drops their records
  const drop = new Set([...wanted].filter((id) => !found.has(id) && (index.hasHex(id) || repo.hasDamagedCopy(id))));
  for (const t of input.badTrees) if (index.hasHex(t) || repo.hasDamagedCopy(t)) drop.add(t);
  // every entry of a pack that is gone, referenced by the checked backups or not
  const present = new Set(await repo.listPacks());
  const gone = new Set(check.missingPacks.filter((p) => !present.has(p)));
  if (gone.size > 0) for (const b of index.entries()) if (gone.has(b.pack) && !found.has(b.id)) drop.add(b.id);
  if ((stored?.blobs.length ?? 0) > 0 || drop.size > 0) await supersedeBlobs(repo, stored?.blobs ?? [], drop);
  const outcome: DamageOutcome = {
    repaired: { chunks: found.size, files: [...new Set(found.values())].sort(), packs_written: stored?.packsWritten ?? 0 },
    repaired_backups: [],
    unrecoverable_chunks: [...wanted].filter((id) => !found.has(id)).length,
    forgotten_blobs: drop.size,
    corrupted: [],
    cleared: [],
    needsFullBackup: [...drop].some((id) => wanted.has(id) || input.badTrees.includes(id)),
  };
  if (found.size > 0) {
    record({
      status: 'ok',
      message: `re-stored ${found.size} damaged chunk(s) from the live files`,
      details: {
        action: 'repair',
        chunks: found.size,
        files: outcome.repaired.files,
        packs_written: outcome.repaired.packs_written,
        unreadable: stored?.unreadable ?? [],
      },
    });
    ctx.logger.info({ event: 'verify.repaired', chunks: found.size, files: outcome.repaired.files }, 'damaged chunks re-stored');
  }

  const toClear: Manifest[] = [];
  for (const b of failing) {
    let m: Manifest;
    try {
      m = await repo.loadManifest(b.id);
    } catch {
      continue; // deleted meanwhile
    }
    const treesOk = b.steps.every((s) => s.name !== 'trees' || s.ok);
    const lost = check.damagedFiles.filter((f) => f.backup === b.id && f.chunks.some((id) => wanted.has(id) && !found.has(id))).map((f) => f.path);
    if (treesOk && lost.length === 0) {
      outcome.repaired_backups.push(b.id);
      if (m.status === 'corrupted') toClear.push(m);
    } else if (m.status !== 'corrupted') {
      await markCorrupted(ctx, repo, m, { ...b, damaged: lost }, { trigger, source: 'background', needs_full_backup: true });
      outcome.corrupted.push({ id: b.id, damaged: lost });
    }
  }
  if (toClear.length > 0) {
    // a mark is lifted only by reading the whole backup back
    const fresh = await openRepository(ctx);
    for (const [i, r] of (await checkBackups({ repo: fresh, manifests: toClear, data: { kind: 'all' } })).entries()) {
      if (!r.ok) continue;
      await fresh.saveManifest({ ...toClear[i]!, status: 'completed', error: null });
      outcome.cleared.push(r.id);
    }
  }
  outcome.needsFullBackup ||= outcome.corrupted.length > 0;
  if (outcome.corrupted.length === 0 && !outcome.needsFullBackup && drop.size > 0) {
    record({
      status: 'ok',
      message: `dropped ${drop.size} index entr(ies) of damaged or lost data no backup uses`,
      details: { action: 'forget', forgotten_blobs: drop.size },
    });
  } else if (outcome.corrupted.length > 0 || drop.size > 0) {
    record({
      status: 'failed',
      error_code: 'ERR_BACKUP_005',
      message: `${outcome.unrecoverable_chunks} damaged chunk(s) could not be re-stored: ${outcome.corrupted.length} backup(s) marked corrupted, ${drop.size} damaged cop(ies) dropped from the index${outcome.needsFullBackup ? '; a new full backup is needed' : ''}`,
      details: {
        action: 'mark',
        backups: outcome.corrupted.map((x) => x.id),
        unrecoverable_chunks: outcome.unrecoverable_chunks,
        forgotten_blobs: drop.size,
        needs_full_backup: outcome.needsFullBackup,
      },
    });
  }
  return outcome;
}
