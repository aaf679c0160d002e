import type { Command } from 'commander';
import { formatBytes, formatCount } from '../../core/format.js';
import { PrismError, isPrismError } from '../../errors/index.js';
import { cliContext, cliContextOrConfigError } from '../context.js';
import { out, printJson } from '../output.js';
import { runAction } from '../run-action.js';

export function registerHealth(program: Command): void {
  const health = program.command('health').description('health checks');
  health
    .command('check')
    .description('`prism health check data`: every file readable, JSON/YAML parse, config valid, changes since the last backup')
    .argument('<what>', 'data')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (what: string, opts: { json?: boolean }) => {
        if (what !== 'data') throw new PrismError('INVALID_ARGUMENT', `prism health check ${what}: only "data" can be checked (prism health check data).`);
        const loaded = await cliContextOrConfigError();
        // the broken config is reported as a failed check
        const ctx = isPrismError(loaded) ? await cliContext('backup.log', { ignoreConfigFile: true }) : loaded;
        const { checkDataHealth } = await import('../../app/integrity/health-check.js');
        const r = await checkDataHealth(ctx);
        if (opts.json) printJson(r);
        else {
          out(`Data directory: ${r.home}`);
          if (r.recovered_restore) out('  An interrupted restore was completed first.');
          out(`  Files: ${formatCount(r.files)} (${formatBytes(r.bytes)}) readable; ${formatCount(r.parsed)} JSON/YAML files parse`);
          for (const i of r.issues.slice(0, 50)) out(`  [FAIL ${i.check}] ${i.path}: ${i.message}`);
          if (r.issues.length > 50) out(`  … ${r.issues.length - 50} more (--json lists all)`);
          if (r.since_backup) {
            const s = r.since_backup;
            out(`  Since ${s.backup}: ${s.added.length} added, ${s.modified.length} modified, ${s.deleted.length} deleted`);
          } else out('  No completed backup to compare with.');
          out(r.healthy ? 'Status: healthy' : `Status: UNHEALTHY (${r.issues.length} problem(s))`);
        }
        return r.healthy ? 0 : 1;
      }),
    );
  health.commands.forEach((c) => c.exitOverride());
}
