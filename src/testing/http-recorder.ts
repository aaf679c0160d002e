import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A real HTTP server on 127.0.0.1 playing a chat service's webhook (Slack, Teams, Discord, ntfy,
 * Healthchecks): records every request; answers with the next status of `plan` (then 200), or
 * never answers while `hang` is set.
 */
export class HttpRecorder {
  readonly requests: RecordedRequest[] = [];
  plan: number[] = [];
  hang = false;
  url = '';
  private server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString('utf8')));
    req.on('end', () => {
      this.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      if (this.hang) return;
      res.statusCode = this.plan.shift() ?? 200;
      res.end('ok');
    });
  });
  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  json(i: number): unknown {
    return JSON.parse(this.requests[i]!.body);
  }
  stop(): Promise<void> {
    const closed = new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    return closed;
  }
}
