import { Worker } from 'node:worker_threads';
import type { Unlocked } from '../repo/index.js';
import type { FilesOutcome } from './restore-types.js';
import { YOUNG_GENERATION_MB } from './worker-pool.js';
import type { TreeEntry } from './tree-walk.js';

export interface RestoreWorkerInit {
  repoRoot: string;
  /** The keys of an encrypted repository (in memory only). */
  unlocked: Unlocked | undefined;
  dest: string;
  verify: boolean;
  resume: boolean;
}

export type ToRestoreWorker = { type: 'slice'; files: TreeEntry[] } | { type: 'end' };
export type FromRestoreWorker =
  { type: 'ready' } | { type: 'file'; bytes: number } | { type: 'slice-done'; outcome: FilesOutcome } | { type: 'error'; message: string; code?: string };

/**
 * Hands out contiguous slices of the file list on demand: the calling thread (`local`) and
 * `workers` threads each take the next slice when they finish one, so a thread that also did the
 * planning, or meets bigger files, does not hold the others up.
 */
export async function restoreSlices(
  slices: TreeEntry[][],
  workers: number,
  init: RestoreWorkerInit,
  local: (files: TreeEntry[]) => Promise<FilesOutcome>,
  onFile: (bytes: number) => void,
): Promise<FilesOutcome[]> {
  let next = 0;
  const outcomes: FilesOutcome[] = [];
  const take = (): TreeEntry[] | undefined => (next < slices.length ? slices[next++] : undefined);
  const remote = Array.from(
    { length: Math.min(workers, Math.max(0, slices.length - 1)) },
    () =>
      new Promise<void>((resolve, reject) => {
        const w = new Worker(new URL('./restore-worker.js', import.meta.url), {
          workerData: init,
          resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
        });
        const feed = (): void => {
          const files = take();
          w.postMessage(files ? ({ type: 'slice', files } satisfies ToRestoreWorker) : ({ type: 'end' } satisfies ToRestoreWorker));
          if (!files) resolve();
        };
        w.on('message', (m: FromRestoreWorker) => {
          if (m.type === 'ready') feed();
          else if (m.type === 'file') onFile(m.bytes);
          else if (m.type === 'slice-done') {
            outcomes.push(m.outcome);
            feed();
          } else reject(Object.assign(new Error(m.message), { code: m.code }));
        });
        w.on('error', reject);
        w.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`restore worker exited with code ${code}`))));
      }),
  );
  const localRun = (async () => {
    for (let files = take(); files; files = take()) outcomes.push(await local(files));
  })();
  const settled = await Promise.allSettled([localRun, ...remote]);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return outcomes;
}
