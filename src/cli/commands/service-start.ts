import type { Command } from 'commander';
import { cliContext } from '../context.js';
import { withInterruptSignal } from '../on-signal.js';
import { out, printJson } from '../output.js';
import { parseDuration } from '../parse-duration.js';
import { runAction } from '../run-action.js';

interface Opts {
  foreground?: boolean;
  timeout: string;
  json?: boolean;
}

export function registerServiceStart(program: Command): void {
  program
    .command('start')
    .description('start the prism service (scheduled backups, cleanup, checks, metrics, dashboard) in the background')
    .option('--foreground', 'run in this process (for systemd); SIGTERM or Ctrl-C stops it gracefully')
    .option('--timeout <duration>', 'how long to wait for the background service to report ready', '20s')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (opts: Opts) => {
        const timeoutMs = parseDuration('--timeout', opts.timeout);
        // under `prism start` the output goes to logs/service.log: JSON lines, as the logger's
        if (opts.foreground) (await import('../../daemon/json-output.js')).writeOutputAsJson();
        const ctx = await cliContext();
        if (opts.foreground) {
          const [{ runService }, { fileLogger }, { startServiceDashboard }] = await Promise.all([
            import('../../daemon/service.js'),
            import('../logger.js'),
            import('../../web/server/service-dashboard.js'),
          ]);
          const log = fileLogger(ctx.config.home, 'service.log', ctx.config.verbose);
          await withInterruptSignal((signal) =>
            runService({
              ctx,
              log,
              signal,
              dashboard: startServiceDashboard,
              onReady: (s) =>
                opts.json
                  ? out(JSON.stringify(s))
                  : out(
                      `prism service running (pid ${s.pid})${s.metrics_address ? `; metrics on http://${s.metrics_address}/metrics` : ''}${s.dashboard_url ? `; dashboard on ${s.dashboard_url}` : ''}`,
                    ),
            }),
          );
          if (!opts.json) out('prism service stopped');
          return;
        }
        if (ctx.config.backup.dashboard.listen !== '') {
          // refused here, before a process is started, rather than found in the service's log
          const { checkListen, listenSettings } = await import('../../web/server/start-dashboard.js');
          checkListen(listenSettings(ctx));
        }
        const command = [process.execPath, ...process.execArgv, process.argv[1]!, 'start', '--foreground'];
        const { startDetached } = await import('../../daemon/start-detached.js');
        const r = await startDetached(ctx, { command, env: process.env, timeoutMs });
        if (opts.json) return printJson(r);
        if (r.stale_pid !== null)
          out(r.stale_pid > 0 ? `Removed a stale pid file (pid ${r.stale_pid} is no longer running).` : 'Removed a pid file that named no process.');
        out(`prism service started (pid ${r.pid})`);
        if (r.metrics_address) out(`  Metrics: http://${r.metrics_address}/metrics`);
        if (r.dashboard_url) out(`  Dashboard: ${r.dashboard_url} (\`prism ui --print-url\` prints the address with the login token)`);
        out(`  Log: ${r.log_file}`);
        out('  `prism status` shows the next runs; `prism stop` stops it.');
      }),
    );
}
