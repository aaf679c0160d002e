import type { PlanOptions, RepoConfig, SharedIndex, Unlocked } from '../repo/index.js';
import type { FilesOutcome } from './restore-types.js';
import { EarlyWorker } from './early-worker.js';
import type { TreeEntry } from './tree-walk.js';

export interface RestoreWorkerInit {
  repoRoot: string;
  /** The keys of an encrypted repository (in memory only). */
  unlocked: Unlocked | undefined;
  /** The repository's config as the calling thread opened it (the worker reads none of it again). */
  config: RepoConfig;
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
  private readonly workers: Array<EarlyWorker<FromRestoreWorker>> = [];

  constructor(count: number, init: RestoreWorkerInit) {
    for (let i = 0; i < count; i++) this.workers.push(new EarlyWorker(new URL('./restore-worker.js', import.meta.url), init, errorOf));
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
          w.listen((e) => {
            if (e.type === 'fail') return reject(e.error);
            if (e.type === 'exit') return e.code === 0 ? resolve() : reject(new Error(`restore worker exited with code ${e.code}`));
            const m = e.message;
            if (m.type === 'ready') feed();
            else if (m.type === 'files') onFiles(m.files, m.bytes);
            else if (m.type === 'slice-done') {
              outcomes.push(m.outcome);
              feed();
            } else reject(errorOf(m));
          });
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

function errorOf(m: FromRestoreWorker): Error | undefined {
  return m.type === 'error' ? Object.assign(new Error(m.message), { code: m.code }) : undefined;
}
