import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../core/logger.js';
import { PrismError } from '../errors/index.js';
import type { ServiceMetrics } from './metrics.js';

export interface MetricsServer {
  /** The bound host:port (the real port when the configured one was 0). */
  readonly address: string;
  close(): Promise<void>;
}

/** "127.0.0.1:9464", "localhost:0", "[::1]:9464" → host and port; anything else is a config error naming `key`. */
export function parseAddress(
  text: string,
  key = 'backup.service.metrics_address',
  example = { port: 9464, off: 'no metrics' },
): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new PrismError(
      'CONFIG_INVALID',
      `${key} = "${text}": expected host:port, e.g. 127.0.0.1:${example.port} ([::1]:${example.port} for IPv6), or "" for ${example.off}.`,
      { key },
    );
  }
  return { host: m[1] ?? m[2]!, port };
}

export function formatAddress(a: AddressInfo): string {
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/** Serves GET /metrics (Prometheus text format) and GET /healthz (200 "ok") on `address`. */
export async function startMetricsServer(address: string, metrics: ServiceMetrics, log: Logger): Promise<MetricsServer> {
  const { host, port } = parseAddress(address);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/metrics') {
      metrics.render().then(
        (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
        (e) => {
          log.error({ event: 'metrics.failed', error: (e as Error)?.message ?? String(e) }, 'could not collect the metrics');
          res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics unavailable: ${(e as Error)?.message ?? String(e)}\n`);
        },
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const why =
        e.code === 'EADDRINUSE'
          ? 'is in use by another process'
          : e.code === 'EADDRNOTAVAIL'
            ? 'is not an address of this host'
            : e.code === 'EACCES'
              ? 'needs privileges'
              : `cannot be used (${e.message})`;
      reject(
        new PrismError('METRICS_ADDRESS_UNAVAILABLE', `The metrics address ${address} (backup.service.metrics_address) ${why}.`, { address, errno: e.code }),
      );
    });
    server.listen(port, host, () => resolve());
  });
  const bound = formatAddress(server.address() as AddressInfo);
  log.info({ event: 'metrics.listening', address: bound }, `metrics on http://${bound}/metrics`);
  return {
    address: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
