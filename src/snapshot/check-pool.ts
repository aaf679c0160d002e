import type { IndexedBlob, RepoConfig, Unlocked } from '../repo/index.js';
import type { PackDataResult } from './check-pack-data.js';
import { EarlyWorker } from './early-worker.js';

export interface CheckWorkerInit {
  repoRoot: string;
  /** The keys of an encrypted repository (in memory only). */
  unlocked: Unlocked | undefined;
  /** The repository's config as the calling thread opened it (the worker reads none of it again). */
  config: RepoConfig;
}

/** A pack to read and the chunks of it to check. */
export interface PackJob {
  pack: string;
  blobs: IndexedBlob[];
  /** The pack's size as listed (asked of the store when not given). */
  size?: number;
}

export type ToCheckWorker = { type: 'pack'; n: number; job: PackJob } | { type: 'end' };
export type FromCheckWorker = { type: 'ready' } | { type: 'pack-done'; n: number; result: PackDataResult } | { type: 'error'; message: string };

/** Packs queued at a worker at a time: one being checked, one read next. */
const IN_FLIGHT = 2;

/**
 * Check worker threads, started before the packs to read are known (a verification first loads
 * the index and walks every tree: the workers' start-up overlaps that instead of following it).
 */
export class CheckWorkers {
  readonly threads: Array<EarlyWorker<FromCheckWorker>> = [];

  constructor(count: number, init: CheckWorkerInit) {
    for (let i = 0; i < count; i++) {
      this.threads.push(new EarlyWorker(new URL('./check-worker.js', import.meta.url), init, (m) => (m.type === 'error' ? new Error(m.message) : undefined)));
    }
  }

  /** Stops the workers (after a run they have ended by themselves); a second call does nothing. */
  async close(): Promise<void> {
    const threads = this.threads.splice(0);
    await Promise.all(threads.map((t) => t.worker.terminate()));
  }
}

/**
 * Checks the packs of `jobs` on the calling thread (`local`) and worker threads (`workers`: a
 * number to start and stop here, or CheckWorkers started ahead, which end with the run), each
 * taking the next pack when it has room; returns the results in the order of `jobs`. `onPackDone`
 * hears of each pack (its place in `jobs`) as it is done.
 */
export async function checkPacksInParallel(
  jobs: readonly PackJob[],
  workers: number | CheckWorkers,
  init: CheckWorkerInit,
  local: (job: PackJob) => Promise<PackDataResult>,
  opts: { signal?: AbortSignal | undefined; onPackDone?: (n: number) => void } = {},
): Promise<PackDataResult[]> {
  const { signal } = opts;
  const results: PackDataResult[] = new Array<PackDataResult>(jobs.length);
  let next = 0;
  let failed = false;
  const take = (): number | undefined => {
    if (failed || next >= jobs.length) return undefined;
    signal?.throwIfAborted();
    return next++;
  };
  const pool = typeof workers === 'number' ? new CheckWorkers(Math.min(workers, Math.max(0, jobs.length - 1)), init) : workers;
  const remote = pool.threads.map((t) =>
    new Promise<void>((resolve, reject) => {
      const w = t.worker;
      if (t.failure !== undefined) return reject(t.failure);
      let inFlight = 0;
      let ended = false;
      const feed = (): void => {
        for (let n = inFlight < IN_FLIGHT ? take() : undefined; n !== undefined; n = inFlight < IN_FLIGHT ? take() : undefined) {
          inFlight++;
          w.postMessage({ type: 'pack', n, job: jobs[n]! } satisfies ToCheckWorker);
        }
        if (inFlight === 0 && !ended) {
          ended = true;
          w.postMessage({ type: 'end' } satisfies ToCheckWorker);
          resolve();
        }
      };
      t.listen((e) => {
        try {
          if (e.type === 'fail') return reject(e.error);
          if (e.type === 'exit') return ended ? resolve() : reject(new Error(`check worker exited early with code ${e.code}`));
          const m = e.message;
          if (m.type === 'ready') feed();
          else if (m.type === 'pack-done') {
            inFlight--;
            const r = m.result;
            // a Buffer arrives as a Uint8Array
            results[m.n] = r.bytes ? { ...r, bytes: Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength) } : r;
            opts.onPackDone?.(m.n);
            feed();
          } else reject(new Error(m.message));
        } catch (err) {
          reject(err);
        }
      });
      if (t.ready) feed();
    }).catch((e: unknown) => {
      failed = true;
      throw e;
    }),
  );
  const localRun = (async () => {
    try {
      for (let n = take(); n !== undefined; n = take()) {
        results[n] = await local(jobs[n]!);
        opts.onPackDone?.(n);
        await new Promise((r) => setImmediate(r)); // let the workers' messages in
      }
    } catch (e) {
      failed = true;
      throw e;
    }
  })();
  try {
    const settled = await Promise.allSettled([localRun, ...remote]);
    for (const s of settled) if (s.status === 'rejected') throw s.reason;
  } finally {
    if (typeof workers === 'number') await pool.close();
  }
  return results;
}
