import { Worker } from 'node:worker_threads';
import type { IndexedBlob, Unlocked } from '../repo/index.js';
import type { PackDataResult } from './check-pack-data.js';
import { YOUNG_GENERATION_MB } from './worker-pool.js';

export interface CheckWorkerInit {
  repoRoot: string;
  /** The keys of an encrypted repository (in memory only). */
  unlocked: Unlocked | undefined;
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
 * Checks the packs of `jobs` on the calling thread (`local`) and `workers` worker threads, each
 * taking the next pack when it has room; returns the results in the order of `jobs`. `onPackDone`
 * hears of each pack (its place in `jobs`) as it is done.
 */
export async function checkPacksInParallel(
  jobs: readonly PackJob[],
  workers: number,
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
  const threads: Worker[] = [];
  const remote = Array.from({ length: Math.min(workers, Math.max(0, jobs.length - 1)) }, () =>
    new Promise<void>((resolve, reject) => {
      const w = new Worker(new URL('./check-worker.js', import.meta.url), {
        workerData: init,
        resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      });
      threads.push(w);
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
      w.on('message', (m: FromCheckWorker) => {
        try {
          if (m.type === 'ready') feed();
          else if (m.type === 'pack-done') {
            inFlight--;
            const r = m.result;
            // a Buffer arrives as a Uint8Array
            results[m.n] = r.bytes ? { ...r, bytes: Buffer.from(r.bytes.buffer, r.bytes.byteOffset, r.bytes.byteLength) } : r;
            opts.onPackDone?.(m.n);
            feed();
          } else reject(new Error(m.message));
        } catch (e) {
          reject(e);
        }
      });
      w.on('error', reject);
      w.on('exit', (code) => (ended ? resolve() : reject(new Error(`check worker exited early with code ${code}`))));
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
    await Promise.all(threads.map((w) => w.terminate()));
  }
  return results;
}
