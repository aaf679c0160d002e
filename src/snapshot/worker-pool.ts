import { Worker } from 'node:worker_threads';
import type { IndexedBlob } from '../repo/index.js';
import type { FileJob, FileResult } from './file-processor.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

export interface PoolOutcome {
  storedBytes: number;
  packs: number;
}

export class WorkerFailure extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'WorkerFailure';
  }
}

const IN_FLIGHT = 2;

/**
 * Runs batches of file jobs on `size` chunk workers, at most IN_FLIGHT batches each.
 * `onResult` sees every batch's results; `onBlobs` every set of index entries as packs land.
 */
export async function runOnWorkers(
  size: number,
  init: WorkerInit,
  batches: readonly FileJob[][],
  onResult: (batch: number, results: FileResult[]) => void,
  onBlobs: (blobs: IndexedBlob[]) => void,
): Promise<PoolOutcome> {
  const workers = Array.from({ length: Math.max(1, Math.min(size, batches.length)) }, () => new Worker(new URL('./chunk-worker.js', import.meta.url), { workerData: init }));
  let next = 0;
  let storedBytes = 0;
  let packs = 0;
  let finished = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const inFlight = new Map<Worker, number>();
      const feed = (w: Worker): void => {
        while ((inFlight.get(w) ?? 0) < IN_FLIGHT && next < batches.length) {
          const jobId = next++;
          inFlight.set(w, (inFlight.get(w) ?? 0) + 1);
          w.postMessage({ type: 'job', jobId, files: batches[jobId]! } satisfies ToWorker);
        }
        if ((inFlight.get(w) ?? 0) === 0 && next >= batches.length) w.postMessage({ type: 'finish' } satisfies ToWorker);
      };
      for (const w of workers) {
        w.on('message', (m: FromWorker) => {
          try {
            if (m.type === 'result') {
              inFlight.set(w, inFlight.get(w)! - 1);
              storedBytes += m.storedBytes;
              if (m.blobs.length > 0) onBlobs(m.blobs);
              onResult(m.jobId, m.results);
              feed(w);
            } else if (m.type === 'finished') {
              storedBytes += m.storedBytes;
              packs += m.packs;
              if (m.blobs.length > 0) onBlobs(m.blobs);
              if (++finished === workers.length) resolve();
            } else {
              reject(Object.assign(new WorkerFailure(m.message, m.errno), { code: m.errno }));
            }
          } catch (e) {
            reject(e);
          }
        });
        w.on('error', reject);
        w.on('exit', (code) => {
          if (code !== 0) reject(new WorkerFailure(`chunk worker exited with code ${code}`, undefined));
        });
        feed(w);
      }
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { storedBytes, packs };
}
