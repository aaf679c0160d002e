import type { Command } from 'commander';
import { createBackup } from '../../app/index.js';
import { isBackupType } from '../../core/types.js';
import { ERROR_CODES, PrismError } from '../../errors/index.js';
import { cliContext } from '../context.js';
import { err, out, printJson } from '../output.js';
import { parseDuration } from '../parse-duration.js';
import { progressBar } from '../progress-bar.js';
import { renderCreated } from '../render-backup.js';
import { runAction } from '../run-action.js';

interface Opts {
  type: string;
  comment?: string;
  json?: boolean;
  progress: boolean;
  lockWait?: string;
}

export function registerBackupCreate(backup: Command): void {
  backup
    .command('create')
    .description('back up the data directory (full reads every file; incremental re-reads only changed files)')
    .option('--type <type>', 'full or incremental', 'full')
    .option('--comment <text>', 'note stored with the backup')
    .option('--lock-wait <duration>', 'wait this long for another backup to finish (e.g. 30s, 5m)')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the result as JSON')
    .action(
      runAction(async (opts: Opts) => {
        if (!isBackupType(opts.type)) {
          throw new PrismError('INVALID_ARGUMENT', `--type "${opts.type}" is not a backup type; use --type full or --type incremental.`);
        }
        const ctx = cliContext();
        const abort = new AbortController();
        const stop = (): void => abort.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        try {
          const m = await createBackup(ctx, {
            type: opts.type,
            comment: opts.comment,
            trigger: 'manual',
            signal: abort.signal,
            onProgress: progressBar(opts.progress && !opts.json),
            ...(opts.lockWait ? { lockWaitMs: parseDuration('--lock-wait', opts.lockWait) } : {}),
          });
          if (opts.json) printJson(m);
          else out(renderCreated(m));
          if (m.status === 'partial') {
            if (!opts.json) err(`Fix: ${ERROR_CODES.PERMISSION_DENIED.fix}`);
            return ERROR_CODES.PERMISSION_DENIED.exitCode;
          }
          return 0;
        } finally {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
      }),
    );
}
