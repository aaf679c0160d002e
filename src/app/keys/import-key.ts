import type { PasswordSource } from '../../core/password-source.js';
import { openWithMaster } from '../../repo/index.js';
import { storeOptions, type AppContext } from '../context.js';
import { addKeyTo, type AddKeyResult } from './add-key.js';
import { parseExport } from './export-format.js';
import { underKeyLock } from './key-session.js';

/**
 * `prism key import`: opens the repository with an exported master key (no password needed: this is
 * how a user who lost every password gets back in) and adds a key file under a new password.
 * Refused: an export that does not parse (the message names the line), one of another repository,
 * one of a master key `prism key rotate` has retired since.
 */
export async function importKey(ctx: AppContext, opts: { text: string; source: string; newPassword: PasswordSource }): Promise<AddKeyResult> {
  const key = parseExport(opts.text, opts.source);
  try {
    const repo = await openWithMaster(ctx.config.storagePath, ctx.clock, key, storeOptions(ctx));
    return await underKeyLock(ctx, repo, 'prism key import', async () => {
      const r = await addKeyTo(ctx, repo, opts.newPassword);
      ctx.logger.info({ event: 'key.imported', key: r.id, generation: r.generation }, `key ${r.id} added from a key export`);
      return r;
    });
  } finally {
    key.master.fill(0);
  }
}
