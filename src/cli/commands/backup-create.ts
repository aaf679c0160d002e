import type { Command } from 'commander';
import { isBackupType } from '../../core/types.js';
import { ERROR_CODES, PrismError } from '../../errors/index.js';
import { cliContext } from '../context.js';
import { err, out, printJson } from '../output.js';
import { parseDuration } from '../parse-duration.js';
import { progressBar } from '../progress-bar.js';
import { renderCreated } from '../render/render-backup.js';
import { withInterruptSignal } from '../on-signal.js';
import { runAction } from '../run-action.js';

interface Opts {
  type: string;
  comment?: string;
  json?: boolean;
  progress: boolean;
  lockWait?: string;
  host?: string;
}

export function registerBackupCreate(backup: Command): void {
  backup
    .command('create')
    .description('back up the data directory (full reads every file; incremental re-reads only changed files)')
    .option('--type <type>', 'full or incremental', 'full')
    .option('--comment <text>', 'note stored with the backup')
    .option('--lock-wait <duration>', 'wait this long for another backup to finish (e.g. 30s, 5m)')
    .option('--host <name>', 'the host name to record the backup under (default: backup.host, else the machine name)')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the result as JSON')
    .action(
      runAction(async (opts: Opts) => {
        if (!isBackupType(opts.type)) {
          throw new PrismError('INVALID_ARGUMENT', `--type "${opts.type}" is not a backup type; use --type full or --type incremental.`);
        }
        if (opts.host !== undefined && !/^[^\s/\\]{1,253}$/.test(opts.host)) {
          throw new PrismError('INVALID_ARGUMENT', `--host "${opts.host}" is not a host name: 1–253 characters without spaces or slashes.`);
        }
        const [base, { createBackup }] = await Promise.all([cliContext(), import('../../app/backups/create-backup.js')]);
        const ctx = opts.host ? { ...base, config: { ...base.config, host: opts.host } } : base;
        const onProgress = await progressBar(opts.progress && !opts.json);
        let created = false;
        const m = await withInterruptSignal((signal) =>
          createBackup(ctx, {
            type: opts.type as 'full' | 'incremental',
            comment: opts.comment,
            trigger: 'manual',
            signal,
            onProgress,
            onRepositoryCreated: () => (created = true),
            ...(opts.lockWait ? { lockWaitMs: parseDuration('--lock-wait', opts.lockWait) } : {}),
          }),
        );
        if (opts.json) printJson({ ...m, repository: ctx.config.storagePath, repository_created: created });
        else {
          if (created) out(`Created a new repository at ${ctx.config.storagePath} (the first backup there).`);
          out(renderCreated(m));
        }
        if (m.status === 'partial') {
          const spec = m.error?.name === 'FILE_CHANGED' ? ERROR_CODES.FILE_CHANGED : ERROR_CODES.PERMISSION_DENIED;
          if (!opts.json) err(`Fix: ${spec.fix}`);
          return spec.exitCode;
        }
        return 0;
      }),
    );
}
