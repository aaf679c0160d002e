import { writePrivateFile } from '../../core/private-files.js';
import { PrismError, fromSystemError } from '../../errors/index.js';
import type { AppContext } from '../context.js';
import { EXPORT_WARNING, exportJson, exportPaper } from './export-format.js';
import { withKeys } from './key-session.js';

export interface ExportKeyResult {
  repository: string;
  repository_id: string;
  generation: number;
  form: 'json' | 'paper';
  /** The export itself, when it was not written to a file. */
  text?: string;
  /** Where it was written (0600, a new file). */
  file?: string;
  warning: string;
}

/**
 * `prism key export`: the current master key with the repository id and generation, as JSON or as
 * a paper key. With `output`, written to a new file (0600; an existing file is never replaced).
 */
export function exportKey(ctx: AppContext, opts: { paper?: boolean; output?: string }): Promise<ExportKeyResult> {
  return withKeys(ctx, 'prism key export', async (repo) => {
    const u = repo.unlocked!;
    const key = { repository: repo.config.id, generation: u.generation, master: u.master };
    const form = opts.paper ? 'paper' : 'json';
    const text = opts.paper ? exportPaper(key) : exportJson(key);
    const base = { repository: repo.location, repository_id: key.repository, generation: key.generation, form, warning: EXPORT_WARNING } as const;
    if (opts.output === undefined) {
      ctx.logger.info({ event: 'key.exported', generation: key.generation, form, to: 'stdout' }, 'master key exported');
      return { ...base, text };
    }
    try {
      writePrivateFile(opts.output, text, { flag: 'wx' });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new PrismError(
          'INVALID_ARGUMENT',
          `${opts.output} exists: prism never overwrites a file with a key export. Give another --output, or remove that file first.`,
          {
            path: opts.output,
          },
        );
      }
      throw fromSystemError(e, `writing the key export ${opts.output}`);
    }
    ctx.logger.info({ event: 'key.exported', generation: key.generation, form, to: opts.output }, 'master key exported');
    return { ...base, file: opts.output };
  });
}
