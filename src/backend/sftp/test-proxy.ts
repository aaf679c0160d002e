import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP relay on loopback in front of the test sshd, for tests that break the connection:
 * `cut()` resets both sides (as a dropped network or a killed sshd child), `stall()` stops
 * relaying without closing (a hung peer). `onUpstream` sees the bytes the client has sent so far.
 */
export class TcpProxy {
  private readonly pairs = new Set<[Socket, Socket]>();
  private stalled = false;
  /** Bytes relayed from the client to the server, all connections together. */
  sent = 0;
  onUpstream: ((sent: number) => void) | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static start(host: string, port: number): Promise<TcpProxy> {
    let proxy: TcpProxy;
    const server = createServer((client) => {
      const upstream = createConnection({ host, port });
      const pair: [Socket, Socket] = [client, upstream];
      proxy.pairs.add(pair);
      const drop = (): void => {
        proxy.pairs.delete(pair);
        client.destroy();
        upstream.destroy();
      };
      client.on('data', (d: Buffer) => {
        if (proxy.stalled) return;
        proxy.sent += d.length;
        upstream.write(d);
        proxy.onUpstream?.(proxy.sent);
      });
      upstream.on('data', (d: Buffer) => {
        if (!proxy.stalled) client.write(d);
      });
      for (const s of pair) {
        s.on('error', drop);
        s.on('close', drop);
      }
    });
    return new Promise((resolve, reject) => {
      server.on('error', reject);
      server.listen(0, '127.0.0.1', () => {
        proxy = new TcpProxy(server, (server.address() as { port: number }).port);
        resolve(proxy);
      });
    });
  }

  /** Resets every relayed connection (RST to the client, the server sees its peer vanish). */
  cut(): void {
    for (const [client, upstream] of this.pairs) {
      client.resetAndDestroy();
      upstream.destroy();
    }
    this.pairs.clear();
  }

  /** Stops relaying in both directions, keeping the connections open. */
  stall(): void {
    this.stalled = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
