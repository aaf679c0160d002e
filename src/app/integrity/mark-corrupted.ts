import { ERROR_CODES, isPrismError } from '../../errors/index.js';
import type { Manifest, Repository } from '../../repo/index.js';
import { checkBackups, type BackupCheck } from '../../snapshot/checker.js';
import { openRepository, type AppContext } from '../context.js';
import { recordRepositoryEvent } from '../monitoring/events.js';

/**
 * Marks a backup that failed verification `corrupted` (shown by list and info, with the failed
 * checks as its error), writes a high-severity `verify.failed` event naming the damaged files for
 * alerting, and logs it. Returns the message.
 */
export async function markCorrupted(ctx: AppContext, repo: Repository, m: Manifest, check: BackupCheck, extra: Record<string, unknown> = {}): Promise<string> {
  const message = `Verification failed: ${check.steps
    .filter((s) => !s.ok)
    .map((s) => s.detail)
    .join('; ')}`;
  await repo.saveManifest({ ...m, status: 'corrupted', error: { code: ERROR_CODES.CHECKSUM_MISMATCH.id, name: 'CHECKSUM_MISMATCH', message } });
  recordRepositoryEvent(ctx, {
    time: ctx.clock.now().toISOString(),
    severity: 'high',
    event: 'verify.failed',
    backup: m.id,
    damaged: check.damaged.slice(0, 100),
    message,
    ...extra,
  });
  ctx.logger.error({ event: 'verify.failed', id: m.id, damaged: check.damaged.length }, message);
  return message;
}

/**
 * After damaged copies were recorded (and so left the index): checks the structure of every other
 * usable backup (trees read, every chunk indexed; no data read) and marks those that used the lost
 * copies corrupted. Returns their ids. The caller holds a repository lock.
 */
export async function markSharingBackups(ctx: AppContext, checked: readonly string[], extra: Record<string, unknown> = {}): Promise<string[]> {
  const repo = await openRepository(ctx);
  const others = (await repo.listManifests()).filter((m) => m.tree !== null && (m.status === 'completed' || m.status === 'partial') && !checked.includes(m.id));
  if (others.length === 0) return [];
  const marked: string[] = [];
  for (const [i, check] of (await checkBackups({ repo, manifests: others, data: { kind: 'none' } })).entries()) {
    if (check.ok) continue;
    await markCorrupted(ctx, repo, others[i]!, check, extra);
    marked.push(check.id);
  }
  return marked;
}

/**
 * Runs a read of backup data; when it meets a damaged or lost blob (the copy is recorded as damaged
 * by then), the backups that need it are marked corrupted before the error goes on.
 */
export async function markingDamage<T>(ctx: AppContext, source: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (e) {
    if (damagedBlobError(e)) {
      await markSharingBackups(ctx, [], { source }).catch((err: Error) =>
        ctx.logger.warn({ event: 'mark.failed', error: err.message }, 'damaged backups could not be marked'),
      );
    }
    throw e;
  }
}

/** True if `e` (or an error it wraps) says a stored blob is damaged or lost. */
function damagedBlobError(e: unknown): boolean {
  for (let x: unknown = e, depth = 0; x instanceof Error && depth < 5; x = x.cause, depth++) {
    if (isPrismError(x) && typeof x.details.blob === 'string' && (x.code === 'CHECKSUM_MISMATCH' || x.code === 'REPO_CORRUPT')) return true;
  }
  return false;
}
