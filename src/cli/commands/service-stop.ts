import type { Command } from 'commander';
import { formatDuration } from '../../core/format.js';
import { cliHome } from '../context.js';
import { out, printJson } from '../output.js';
import { parseDuration } from '../parse-duration.js';
import { runAction } from '../run-action.js';

export function registerServiceStop(program: Command): void {
  program
    .command('stop')
    .description('stop the prism service: a running job is aborted cleanly (or finishes) and recorded')
    .option('--timeout <duration>', 'how long to wait for the service to exit', '2m')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (opts: { timeout: string; json?: boolean }) => {
        const timeoutMs = parseDuration('--timeout', opts.timeout);
        const home = await cliHome();
        const { stopService } = await import('../../daemon/stop-service.js');
        const r = await stopService(home, { timeoutMs });
        if (opts.json) return printJson(r);
        if (r.stale_pid !== null)
          out(r.stale_pid > 0 ? `Removed a stale pid file (pid ${r.stale_pid} is no longer running).` : 'Removed a pid file that named no process.');
        out(
          r.stopped
            ? `Stopped the prism service (pid ${r.pid}) in ${formatDuration(r.waited_ms)}.`
            : `The prism service is not running in ${home}; nothing to stop.`,
        );
      }),
    );
}
