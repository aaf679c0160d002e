import type { Command } from 'commander';
import { cliContext } from '../context.js';
import { out, printJson } from '../output.js';
import { runAction } from '../run-action.js';

export function registerInit(program: Command): void {
  program
    .command('init')
    .description('create the data directory (PRISM_HOME) with its folders and a default config/backup.json')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (opts: { json?: boolean }) => {
        const { initHome } = await import('../../app/backups/init-home.js');
        const r = initHome(await cliContext());
        if (opts.json) return printJson(r);
        out(`Data directory: ${r.home}`);
        for (const c of r.created) out(`  created ${c}`);
        out(r.configWritten ? `  wrote ${r.configFile}` : `  kept existing ${r.configFile}`);
        out('Next: prism backup create --type full');
      }),
    );
}
