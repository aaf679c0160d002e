import type { Worker } from 'node:worker_threads';
import { startChunkWorker, type ChunkWorkerSetup } from './chunk-worker-start.js';
import { WorkerFailure } from './worker-pool.js';
import type { FromWorker, ToWorker, WholeFileStored } from './worker-protocol.js';

/**
 * Stores whole files (WAL segments) on `threads` chunk workers, one file per worker at a time:
 * each reads its file in one go, hashes it once as a whole, and chunks, compresses and packs it
 * on its own core, committing its packs before it answers. The caller writes the index entries
 * (and whatever record refers to the file) after that answer, so nothing it records points to a
 * pack that is not there.
 */
export class WholeFilePool {
  private readonly workers: Worker[];
  private readonly idle: Worker[] = [];
  private readonly queue: Array<() => void> = [];
  private readonly pending = new Map<number, { resolve: (s: WholeFileStored) => void; reject: (e: unknown) => void }>();
  private nextId = 0;
  private failure: unknown;

  constructor(init: ChunkWorkerSetup, threads: number) {
    this.workers = Array.from({ length: Math.max(1, threads) }, () => {
      const w = startChunkWorker(init);
      w.on('message', (m: FromWorker) => {
        if (m.type === 'whole-file-done') {
          const p = this.pending.get(m.jobId);
          this.pending.delete(m.jobId);
          if (m.stored) p?.resolve(m.stored);
          else p?.reject(new WorkerFailure(m.failure?.message ?? 'whole-file job failed', m.failure?.errno, m.failure?.name));
          this.release(w);
        } else if (m.type === 'error') this.fail(new WorkerFailure(m.message, m.errno, m.name));
      });
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => this.fail(new WorkerFailure(`chunk worker exited early with code ${code}`, undefined)));
      this.idle.push(w);
      return w;
    });
  }

  /** Stores `path` on the next free worker. */
  async store(path: string): Promise<WholeFileStored> {
    if (this.failure !== undefined) throw this.failure;
    const w = this.idle.pop() ?? (await new Promise<Worker | undefined>((r) => this.queue.push(() => r(this.idle.pop()))));
    if (this.failure !== undefined || !w) {
      if (w) this.idle.push(w);
      throw this.failure;
    }
    const jobId = this.nextId++;
    return new Promise<WholeFileStored>((resolve, reject) => {
      this.pending.set(jobId, { resolve, reject });
      w.postMessage({ type: 'whole-file', jobId, path } satisfies ToWorker);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new WorkerFailure('the pool is closed', undefined);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }

  private release(w: Worker): void {
    this.idle.push(w);
    this.queue.shift()?.();
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
    for (const q of this.queue.splice(0)) q();
  }
}
