import type { Command } from 'commander';
import { REPO_OPTION, repoContext } from '../context.js';
import { out, printJson } from '../output.js';
import { renderInfo } from '../render/render-backup.js';
import { runAction } from '../run-action.js';

export function registerBackupInfo(backup: Command): void {
  backup
    .command('info')
    .description('show one backup')
    .argument('<backup-id>', 'a backup id from `prism backup list`')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (id: string, opts: { json?: boolean; repo?: string }) => {
        const { backupInfo } = await import('../../app/backups/backup-info.js');
        const m = await backupInfo(await repoContext(opts), id);
        if (opts.json) printJson(m);
        else out(renderInfo(m));
      }),
    );
}
