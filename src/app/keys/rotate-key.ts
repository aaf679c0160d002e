import { FrameCompressor } from '../../codec/compress.js';
import { rotateMasterKey, type RotationProgress, type RotationResult } from '../../repo/key-rotation.js';
import { compressionSettings } from '../backups/create-backup.js';
import { lockRepository, openRepository, type AppContext } from '../context.js';
import { newKeyParams, notEncrypted } from './key-session.js';

export type { RotationProgress, RotationResult };

/**
 * `prism key rotate`: a new master key (see repo/key-rotation.ts), under the exclusive lock. The
 * password in use is kept: it opens the new key file; other passwords must be added again.
 */
export async function rotateKey(
  ctx: AppContext,
  opts: { rewriteData: boolean; lockWaitMs?: number; onProgress?: (p: RotationProgress) => void; signal?: AbortSignal },
): Promise<RotationResult> {
  const repo = await openRepository(ctx);
  if (!repo.unlocked || !ctx.password) throw notEncrypted(repo.location);
  const lock = await lockRepository(ctx, repo, 'exclusive', 'prism key rotate', opts.lockWaitMs ?? 0);
  try {
    const password = await ctx.password.read();
    const params = await newKeyParams(ctx);
    const result = await rotateMasterKey(repo, {
      password,
      params,
      clock: ctx.clock,
      rewriteData: opts.rewriteData,
      compressor: new FrameCompressor(compressionSettings(ctx)),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    ctx.logger.info(
      {
        event: 'key.rotate',
        generation: result.generation,
        started: result.started,
        metadata_resealed: result.metadata_resealed,
        packs_rewritten: result.packs_rewritten,
        packs_left: result.packs_left,
      },
      result.started ? `master key rotated to generation ${result.generation}` : `rotation to generation ${result.generation} finished`,
    );
    return result;
  } finally {
    await lock.release();
  }
}
