import { ERROR_CODES } from '../errors/index.js';
import type { Manifest, Repository } from '../repo/index.js';
import type { BackupCheck } from '../snapshot/checker.js';
import type { AppContext } from './context.js';
import { recordEvent } from './events.js';

/**
 * Marks a backup that failed verification `corrupted` (shown by list and info, with the failed
 * checks as its error), writes a high-severity `verify.failed` event naming the damaged files for
 * alerting, and logs it. Returns the message.
 */
export async function markCorrupted(ctx: AppContext, repo: Repository, m: Manifest, check: BackupCheck, extra: Record<string, unknown> = {}): Promise<string> {
  const message = `Verification failed: ${check.steps.filter((s) => !s.ok).map((s) => s.detail).join('; ')}`;
  await repo.saveManifest({ ...m, status: 'corrupted', error: { code: ERROR_CODES.CHECKSUM_MISMATCH.id, name: 'CHECKSUM_MISMATCH', message } });
  recordEvent(ctx.config.home, { time: ctx.clock.now().toISOString(), severity: 'high', event: 'verify.failed', backup: m.id, damaged: check.damaged.slice(0, 100), message, ...extra });
  ctx.logger.error({ event: 'verify.failed', id: m.id, damaged: check.damaged.length }, message);
  return message;
}
