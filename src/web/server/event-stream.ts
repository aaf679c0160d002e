import type { ServerResponse } from 'node:http';
import type { ProgressRecord } from '../../app/monitoring/progress-file.js';

export interface EventSources {
  /** The jobs running now (their progress files). */
  readonly progress: () => ProgressRecord[];
  /** A text that changes when the list of backups changes; undefined: no `changed` events. */
  readonly backups?: (() => Promise<string>) | undefined;
  /** How often progress is looked at (default 500 ms). */
  readonly intervalMs?: number;
  /** How often the list of backups is looked at (default 5 s). */
  readonly backupsIntervalMs?: number;
}

const HEARTBEAT_MS = 15_000;

/**
 * `GET /api/events`: one watcher for every open stream. While a client listens it reads the
 * progress files every 500 ms and sends `event: progress` `{ running: [...] }` when they changed,
 * and the list of backups every few seconds, sending `event: changed` `{ what: "backups" }` when
 * it changed. With no client it does nothing.
 */
export class EventStreams {
  private readonly clients = new Set<ServerResponse>();
  private timer: NodeJS.Timeout | undefined;
  private lastProgress = '';
  private lastBackups: string | undefined;
  private lastBackupsCheck = -Infinity;
  private lastHeartbeat = 0;
  private busy = false;
  private closed = false;

  constructor(private readonly sources: EventSources) {}

  /** Starts a stream on `res` (headers already given by the caller): the running jobs at once, then changes. */
  add(res: ServerResponse): void {
    if (this.closed) {
      res.end();
      return;
    }
    this.clients.add(res);
    res.on('close', () => {
      this.clients.delete(res);
      if (this.clients.size === 0) this.stop();
    });
    const running = this.readProgress();
    res.write(`retry: 2000\n\n`);
    res.write(frame('progress', running));
    if (!this.timer) {
      this.lastProgress = running;
      this.lastBackups = undefined;
      this.lastBackupsCheck = -Infinity; // the first look at once: the baseline a change is told against
      this.lastHeartbeat = performance.now();
      const interval = this.sources.intervalMs ?? 500;
      this.timer = setInterval(() => void this.tick(), interval);
      this.timer.unref();
      void this.tick();
    }
  }

  get size(): number {
    return this.clients.size;
  }

  /** Ends every stream (the server is closing). */
  close(): void {
    this.closed = true;
    this.stop();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private readProgress(): string {
    try {
      return JSON.stringify({ running: this.sources.progress() });
    } catch {
      return JSON.stringify({ running: [] });
    }
  }

  private broadcast(text: string): void {
    for (const res of this.clients) res.write(text);
  }

  private async tick(): Promise<void> {
    if (this.busy || this.clients.size === 0) return;
    this.busy = true;
    try {
      const running = this.readProgress();
      if (running !== this.lastProgress) {
        this.lastProgress = running;
        this.broadcast(frame('progress', running));
      }
      const now = performance.now();
      if (this.sources.backups && now - this.lastBackupsCheck >= (this.sources.backupsIntervalMs ?? 5000)) {
        this.lastBackupsCheck = now;
        try {
          const sig = await this.sources.backups();
          if (this.lastBackups !== undefined && sig !== this.lastBackups) this.broadcast(frame('changed', JSON.stringify({ what: 'backups' })));
          this.lastBackups = sig;
        } catch {
          // the repository cannot be listed now (a remote store away): try again later
        }
      }
      if (now - this.lastHeartbeat >= HEARTBEAT_MS) {
        this.lastHeartbeat = now;
        this.broadcast(': keep-alive\n\n');
      }
    } finally {
      this.busy = false;
    }
  }
}

function frame(event: string, data: string): string {
  return `event: ${event}\ndata: ${data}\n\n`;
}
