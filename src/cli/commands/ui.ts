import type { Command } from 'commander';
import { PrismError } from '../../errors/index.js';
import { cliContext, cliHome } from '../context.js';
import { withInterruptSignal } from '../on-signal.js';
import { err, out, printJson } from '../output.js';
import { runAction } from '../run-action.js';

interface Opts {
  listen?: string;
  printUrl?: boolean;
  insecure?: boolean;
  hashPassword?: boolean;
  json?: boolean;
}

/** The password for --hash-password: typed at the terminal (twice), or the first line of stdin. */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    const { promptPassword } = await import('../password-prompt.js');
    const buf = await promptPassword('Dashboard password: ', { confirm: true });
    const text = buf.toString('utf8');
    buf.fill(0);
    return text;
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const line = text.split(/\r?\n/)[0] ?? '';
  if (line.length === 0) throw new PrismError('INVALID_ARGUMENT', '--hash-password: no password on stdin (give it on the first line).');
  return line;
}

export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('serve the dashboard in the foreground until Ctrl-C (`prism start` serves it too)')
    .option('--listen <host:port>', 'the address to serve on (default: backup.dashboard.listen, 127.0.0.1:9470)')
    .option('--print-url', 'print the address with the login token, then exit (nothing is served)')
    .option('--insecure', 'allow plain HTTP on an address other hosts can reach')
    .option('--hash-password', 'read a password (terminal or stdin) and print its hash for backup.dashboard.password_hash')
    .option('--json', 'print as JSON')
    .action(
      runAction(async (opts: Opts) => {
        const { hashPassword, dashboardToken, dashboardTokenFile } = await import('../../web/server/credentials.js');
        if (opts.hashPassword) {
          const hash = await hashPassword(await readPassword());
          if (opts.json) printJson({ password_hash: hash });
          else out(hash);
          return 0;
        }
        const ctx = await cliContext('dashboard.log');
        const { checkListen, listenSettings, tokenUrl } = await import('../../web/server/start-dashboard.js');
        const settings = listenSettings(ctx, { listen: opts.listen, insecure: opts.insecure });
        if (settings.listen === '') {
          throw new PrismError('INVALID_ARGUMENT', 'The dashboard is off (backup.dashboard.listen is ""): pass --listen 127.0.0.1:9470, or set the key.', {
            key: 'backup.dashboard.listen',
          });
        }
        if (opts.printUrl) {
          const { tls } = checkListen(settings);
          // the running service's bound address where it serves the configured one (its port may have been 0)
          const { readServiceState } = await import('../../daemon/service-state.js');
          const { runningServicePid } = await import('../../app/index.js');
          const state = readServiceState(await cliHome());
          const live =
            opts.listen === undefined && state && state.pid === runningServicePid(ctx.config.home) && state.dashboard_url ? state.dashboard_url : undefined;
          const url = live ?? `${tls ? 'https' : 'http'}://${settings.listen.trim()}/`;
          const token = dashboardToken(ctx.config.home);
          if (opts.json) printJson({ url: tokenUrl(url, token), address: url, token_file: dashboardTokenFile(ctx.config.home) });
          else out(tokenUrl(url, token));
          return 0;
        }
        const [{ startDashboard }, { apiRoutes }, { backupListSignature }] = await Promise.all([
          import('../../web/server/start-dashboard.js'),
          import('../../web/api/index.js'),
          import('../../app/backups/backup-list-signature.js'),
        ]);
        const server = await startDashboard({
          ctx,
          // the configuration as it is now for each request (edits show without a restart), the same log
          context: async () => ({ ...ctx, config: (await import('../../config/index.js')).loadConfig(process.env) }),
          settings,
          routes: apiRoutes,
          log: ctx.logger,
          events: { backups: backupListSignature(ctx) },
        });
        const link = tokenUrl(server.url, dashboardToken(ctx.config.home));
        if (opts.json) out(JSON.stringify({ address: server.address, url: server.url, login_url: link }));
        else {
          out(`Dashboard on ${server.url}`);
          out(`  Open ${link} to log in; Ctrl-C stops it.`);
        }
        await withInterruptSignal((signal) => new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true })));
        await server.close();
        if (!opts.json) err('Dashboard stopped.');
        return 0;
      }),
    );
}
