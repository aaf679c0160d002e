import { Worker } from 'node:worker_threads';
import { YOUNG_GENERATION_MB } from './chunk-worker-start.js';

/** What a worker said or did, for the run that listens to it. */
export type WorkerEvent<M> = { type: 'message'; message: M } | { type: 'fail'; error: unknown } | { type: 'exit'; code: number };

/**
 * A worker thread started before its work is known (its start-up overlaps the calling thread's
 * own preparation). Until a run listens, its 'ready' message is kept and its first failure (an
 * 'error' message, an error, an exit) recorded, for the run to find.
 */
export class EarlyWorker<M extends { type: string }> {
  readonly worker: Worker;
  ready = false;
  failure: unknown;
  private listener: ((e: WorkerEvent<M>) => void) | undefined;

  constructor(script: URL, init: unknown, errorOf: (m: M) => Error | undefined) {
    this.worker = new Worker(script, { workerData: init, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
    this.worker.on('message', (message: M) => {
      if (this.listener) this.listener({ type: 'message', message });
      else if (message.type === 'ready') this.ready = true;
      else this.failure ??= errorOf(message);
    });
    this.worker.on('error', (error) => (this.listener ? this.listener({ type: 'fail', error }) : (this.failure ??= error)));
    this.worker.on('exit', (code) =>
      this.listener ? this.listener({ type: 'exit', code }) : (this.failure ??= new Error(`worker thread exited with code ${code} before it was given work`)),
    );
  }

  /** From now on every event goes to `listener`. */
  listen(listener: (e: WorkerEvent<M>) => void): void {
    this.listener = listener;
  }
}
