import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { AppContext } from '../../app/index.js';
import { formatAddress, parseAddress } from '../../daemon/metrics-server.js';
import type { Logger } from '../../core/logger.js';
import { PrismError } from '../../errors/index.js';
import type { ApiRoute } from '../api/route.js';
import { dashboardToken } from './credentials.js';
import type { Dashboard, DashboardOptions } from './dashboard-app.js';

export const LISTEN_KEY = 'backup.dashboard.listen';

export interface RunningDashboard {
  /** The bound host:port (the real port when the configured one was 0). */
  readonly address: string;
  /** http(s)://host:port/ */
  readonly url: string;
  readonly dashboard: Dashboard;
  close(): Promise<void>;
}

/** host:port of the dashboard, as backup.dashboard.listen or --listen gives it. */
export function parseListen(text: string): { host: string; port: number } {
  return parseAddress(text, LISTEN_KEY, { port: 9470, off: 'no dashboard' });
}

/** 127.0.0.0/8, ::1, localhost (and ::ffff:127.x). */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

export interface ListenSettings {
  /** host:port */
  readonly listen: string;
  readonly tlsCert?: string | undefined;
  readonly tlsKey?: string | undefined;
  /** Plain HTTP on a non-loopback address is allowed. */
  readonly insecure: boolean;
}

/** The dashboard settings of the configuration, `listen` replaced when given (`prism ui --listen`). */
export function listenSettings(ctx: AppContext, over: { listen?: string | undefined; insecure?: boolean | undefined } = {}): ListenSettings {
  const d = ctx.config.backup.dashboard;
  return { listen: over.listen ?? d.listen, tlsCert: d.tls_cert, tlsKey: d.tls_key, insecure: over.insecure === true || d.insecure };
}

/**
 * Refuses what must not be served: a malformed address (CONFIG_INVALID naming the key), or a
 * non-loopback address with neither TLS nor `insecure` (DASHBOARD_UNSAFE). Returns the TLS files'
 * contents when TLS is configured.
 */
export function checkListen(s: ListenSettings): { host: string; port: number; tls?: { key: Buffer; cert: Buffer } } {
  const { host, port } = parseListen(s.listen);
  let tls: { key: Buffer; cert: Buffer } | undefined;
  if (s.tlsCert && s.tlsKey) {
    const read = (file: string, key: string): Buffer => {
      try {
        return readFileSync(file);
      } catch (e) {
        throw new PrismError('CONFIG_INVALID', `${key} = "${file}": cannot be read (${(e as Error).message}).`, { key });
      }
    };
    tls = { cert: read(s.tlsCert, 'backup.dashboard.tls_cert'), key: read(s.tlsKey, 'backup.dashboard.tls_key') };
  }
  if (!tls && !s.insecure && !isLoopback(host)) {
    throw new PrismError(
      'DASHBOARD_UNSAFE',
      `The dashboard address ${s.listen} (${LISTEN_KEY}) is reachable from other hosts, and without TLS its token, password and data would cross the network in clear: set backup.dashboard.tls_cert and tls_key, or pass --insecure (backup.dashboard.insecure: true), or listen on 127.0.0.1.`,
      { address: s.listen },
    );
  }
  return { host, port, ...(tls ? { tls } : {}) };
}

export interface StartDashboardOptions {
  readonly ctx: AppContext;
  /** A fresh context for each request (default: `ctx`). */
  readonly context?: () => Promise<AppContext>;
  readonly settings: ListenSettings;
  readonly routes: readonly ApiRoute[];
  readonly log: Logger;
  readonly uiDir?: string;
  readonly events?: DashboardOptions['events'];
}

/** Checks the address, builds the dashboard and listens; the token file is created if there is none. */
export async function startDashboard(opts: StartDashboardOptions): Promise<RunningDashboard> {
  const { ctx, settings } = opts;
  const { host, port, tls } = checkListen(settings);
  // Fastify loads here, in the processes that serve, not in `prism start`'s checks
  const { buildDashboard } = await import('./dashboard-app.js');
  const dashboard = await buildDashboard({
    context: opts.context ?? (() => Promise.resolve(ctx)),
    home: ctx.config.home,
    clock: ctx.clock,
    token: dashboardToken(ctx.config.home),
    passwordHash: ctx.config.backup.dashboard.password_hash,
    sessionHours: ctx.config.backup.dashboard.session_hours,
    tls,
    routes: opts.routes,
    log: opts.log,
    ...(opts.uiDir ? { uiDir: opts.uiDir } : {}),
    ...(opts.events ? { events: opts.events } : {}),
  });
  try {
    await dashboard.app.listen({ host, port });
  } catch (e) {
    await dashboard.app.close().catch(() => undefined);
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EADDRINUSE'
        ? 'is in use by another process (a running `prism start` serves the dashboard already: `prism ui --print-url`)'
        : code === 'EADDRNOTAVAIL'
          ? 'is not an address of this host'
          : code === 'EACCES'
            ? 'needs privileges'
            : `cannot be used (${(e as Error).message})`;
    throw new PrismError('DASHBOARD_UNSAFE', `The dashboard address ${settings.listen} (${LISTEN_KEY}) ${why}.`, { address: settings.listen, errno: code });
  }
  const address = formatAddress(dashboard.app.server.address() as AddressInfo);
  const url = `${tls ? 'https' : 'http'}://${address}/`;
  opts.log.info({ event: 'dashboard.listening', address, tls: !!tls }, `dashboard on ${url}`);
  return { address, url, dashboard, close: () => dashboard.app.close() };
}

/** The URL that logs in by itself: the token in the fragment, which the browser never sends to a server. */
export function tokenUrl(url: string, token: string): string {
  return `${url}#token=${token}`;
}
