import type { Command } from 'commander';
import { formatBytes } from '../../core/format.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { out, printJson, table } from '../output.js';
import { runAction } from '../run-action.js';

export function registerBackupLineage(backup: Command): void {
  backup
    .command('chain')
    .description('the lineage of a backup: full_backup_id -> inc1 -> inc2 -> target')
    .argument('<backup-id>')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (id: string, opts: { json?: boolean; repo?: string }) => {
        const { backupChain } = await import('../../app/backups/lineage.js');
        const r = await backupChain(await repoContext(opts), id);
        if (opts.json) return printJson(r);
        out(r.chain.map((c) => c.id).join(' -> '));
        if (r.broken_at) out(`(parent ${r.broken_at} was deleted; every prism backup is complete, so ${id} restores on its own)`);
      }),
    );
  backup
    .command('dependencies')
    .description('backups whose lineage passes through this one, and the data they share with it')
    .argument('<backup-id>')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (id: string, opts: { json?: boolean; repo?: string }) => {
        const { backupDependencies } = await import('../../app/backups/lineage.js');
        const r = await backupDependencies(await repoContext(opts), id);
        if (opts.json) return printJson(r);
        if (r.dependants.length === 0) out(`No backups depend on ${id}.`);
        else
          out(
            table(
              ['DEPENDANT', 'TYPE', 'STATUS', 'SHARED DATA'],
              r.dependants.map((d) => [d.id, d.type, d.status, `${formatBytes(d.shared_bytes)} (${d.shared_percent.toFixed(1)}%)`]),
            ),
          );
        if (r.warning) out(r.warning);
      }),
    );
}
