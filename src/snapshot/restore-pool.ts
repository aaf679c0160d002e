import { Worker } from 'node:worker_threads';
import type { PlanOptions, SharedIndex, Unlocked } from '../repo/index.js';
import type { FilesOutcome } from './restore-types.js';
import { YOUNG_GENERATION_MB } from './worker-pool.js';
import type { TreeEntry } from './tree-walk.js';

export interface RestoreWorkerInit {
  repoRoot: string;
  /** The keys of an encrypted repository (in memory only). */
  unlocked: Unlocked | undefined;
  /** The calling thread's loaded index, shared (workers do not load the index files again). */
  index: SharedIndex;
  verify: boolean;
}

/** Where a restore writes: known only once it is planned, after the workers were started. */
export interface RestoreJobTarget {
  dest: string;
  resume: boolean;
  /** Fetch each slice's frames ahead (a remote store), within this thread's budget. */
  plan?: PlanOptions;
}

export type ToRestoreWorker = { type: 'slice'; files: TreeEntry[]; job: RestoreJobTarget } | { type: 'end' };
export type FromRestoreWorker =
  | { type: 'ready' }
  | { type: 'files'; files: number; bytes: number }
  | { type: 'slice-done'; outcome: FilesOutcome }
  | { type: 'error'; message: string; code?: string };

/**
 * Worker threads that write a restore's files: started before the work is known (their start-up
 * overlaps the calling thread's own preparation), then `run` hands out contiguous slices of the
 * file list on demand: the calling thread (`local`) and the workers each take the next slice when
 * they finish one, so a thread that also did the planning, or meets bigger files, does not hold
 * the others up.
 */
export class RestorePool {
  private readonly workers: Array<{ worker: Worker; ready: boolean; failure?: unknown; on?: WorkerEvents }> = [];

  constructor(count: number, init: RestoreWorkerInit) {
    for (let i = 0; i < count; i++) {
      const worker = new Worker(new URL('./restore-worker.js', import.meta.url), {
        workerData: init,
        resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      });
      const w: (typeof this.workers)[number] = { worker, ready: false };
      // until `run` listens, what a worker says is kept
      worker.on('message', (m: FromRestoreWorker) => {
        if (w.on) w.on.message(m);
        else if (m.type === 'ready') w.ready = true;
        else if (m.type === 'error') w.failure ??= Object.assign(new Error(m.message), { code: m.code });
      });
      worker.on('error', (e) => (w.on ? w.on.fail(e) : (w.failure ??= e)));
      worker.on('exit', (code) => {
        const e = code === 0 ? undefined : new Error(`restore worker exited with code ${code}`);
        if (w.on) w.on.exit(e);
        else w.failure ??= e ?? new Error('restore worker ended before it was given work');
      });
      this.workers.push(w);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Writes the slices on the calling thread and the workers; `onFiles` hears of files the workers wrote. */
  async run(
    job: RestoreJobTarget,
    slices: TreeEntry[][],
    local: (files: TreeEntry[]) => Promise<FilesOutcome>,
    onFiles: (files: number, bytes: number) => void,
  ): Promise<FilesOutcome[]> {
    let next = 0;
    const outcomes: FilesOutcome[] = [];
    const take = (): TreeEntry[] | undefined => (next < slices.length ? slices[next++] : undefined);
    const remote = this.workers.map(
      (w) =>
        new Promise<void>((resolve, reject) => {
          if (w.failure !== undefined) return reject(w.failure);
          const feed = (): void => {
            const files = take();
            w.worker.postMessage(files ? ({ type: 'slice', files, job } satisfies ToRestoreWorker) : ({ type: 'end' } satisfies ToRestoreWorker));
            if (!files) resolve();
          };
          w.on = {
            message: (m) => {
              if (m.type === 'ready') feed();
              else if (m.type === 'files') onFiles(m.files, m.bytes);
              else if (m.type === 'slice-done') {
                outcomes.push(m.outcome);
                feed();
              } else if (m.type === 'error') reject(Object.assign(new Error(m.message), { code: m.code }));
            },
            fail: reject,
            exit: (e) => (e ? reject(e) : resolve()),
          };
          if (w.ready) feed();
        }),
    );
    const localRun = (async () => {
      for (let files = take(); files; files = take()) outcomes.push(await local(files));
    })();
    const settled = await Promise.allSettled([localRun, ...remote]);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
    return outcomes;
  }

  /** Stops the workers (after `run` they have ended by themselves); a second call does nothing. */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.worker.terminate()));
  }
}

interface WorkerEvents {
  message: (m: FromRestoreWorker) => void;
  fail: (e: unknown) => void;
  exit: (e: Error | undefined) => void;
}
