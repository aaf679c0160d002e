import type { IndexedBlob } from '../repo/index.js';
import type { FileJob, FileProcessor, FileResult } from './file-processor.js';
import { startChunkWorker, type ChunkWorkerSetup } from './chunk-worker-start.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

export interface PoolOutcome {
  storedBytes: number;
  packs: number;
}

/** An error raised inside a chunk worker, with the original's errno code and class name. */
export class WorkerFailure extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly originalName = 'Error',
  ) {
    super(message);
    this.name = 'WorkerFailure';
  }
}

const IN_FLIGHT = 2;

/**
 * Runs batches of file jobs on the calling thread's `local` processor plus `threads − 1` chunk
 * workers (each with at most IN_FLIGHT batches queued). `onResult` sees every batch's results;
 * `onBlobs` every set of index entries as the workers' packs land.
 */
export async function runJobs(
  threads: number,
  init: () => ChunkWorkerSetup,
  batches: readonly FileJob[][],
  local: FileProcessor,
  onResult: (batch: number, results: FileResult[]) => void,
  onBlobs: (blobs: IndexedBlob[]) => void,
): Promise<PoolOutcome> {
  const count = Math.max(0, Math.min(threads - 1, batches.length - 1));
  const setup = count > 0 ? init() : undefined;
  const workers = Array.from({ length: count }, () => startChunkWorker(setup!));
  let next = 0;
  let storedBytes = 0;
  let packs = 0;
  let failed: unknown;
  const fail = (e: unknown): void => {
    failed ??= e;
  };
  try {
    const remote = workers.map((w) =>
      new Promise<void>((resolve, reject) => {
        let inFlight = 0;
        const feed = (): void => {
          while (failed === undefined && inFlight < IN_FLIGHT && next < batches.length) {
            const jobId = next++;
            inFlight++;
            w.postMessage({ type: 'job', jobId, files: batches[jobId]! } satisfies ToWorker);
          }
          if (inFlight === 0 && (next >= batches.length || failed !== undefined)) w.postMessage({ type: 'finish' } satisfies ToWorker);
        };
        w.on('message', (m: FromWorker) => {
          try {
            if (m.type === 'result') {
              inFlight--;
              storedBytes += m.storedBytes;
              if (m.blobs.length > 0) onBlobs(m.blobs);
              onResult(m.jobId, m.results);
              feed();
            } else if (m.type === 'finished') {
              storedBytes += m.storedBytes;
              packs += m.packs;
              if (m.blobs.length > 0) onBlobs(m.blobs);
              resolve();
            } else if (m.type === 'error') {
              reject(new WorkerFailure(m.message, m.errno, m.name));
            }
          } catch (e) {
            reject(e);
          }
        });
        w.on('error', reject);
        w.on('exit', (code) => reject(new WorkerFailure(`chunk worker exited early with code ${code}`, undefined)));
        feed();
      }).catch(fail),
    );
    // The calling thread takes batches too, one at a time.
    try {
      while (failed === undefined && next < batches.length) {
        const jobId = next++;
        const results: FileResult[] = [];
        for (const f of batches[jobId]!) results.push(await local.process(f));
        onBlobs(local.takeWritten());
        onResult(jobId, results);
        await new Promise((r) => setImmediate(r)); // let worker messages in
      }
    } catch (e) {
      fail(e);
      await Promise.all(workers.map((w) => w.terminate()));
    }
    await Promise.all(remote);
    if (failed !== undefined) throw failed;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
  return { storedBytes, packs };
}
