import type { Command } from 'commander';
import { REPO_OPTION, repoContext } from '../context.js';
import { out, printJson } from '../output.js';
import { renderDatabases } from '../render/render-backup.js';
import { runAction } from '../run-action.js';

export function registerDbList(db: Command): void {
  db.command('list')
    .description('the databases and tables (with row counts) of a backup')
    .argument('<backup-id>', 'a backup id from `prism backup list`')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (id: string, opts: { json?: boolean; repo?: string }) => {
        const { backupInfo, databasesOf } = await import('../../app/backups/backup-info.js');
        const m = await backupInfo(await repoContext(opts), id);
        if (opts.json) printJson(databasesOf(m));
        else out(m.databases && m.databases.length > 0 ? renderDatabases(m).join('\n') : `Backup ${m.id} holds no databases (configure backup.databases).`);
      }),
    );
}
