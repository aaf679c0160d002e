import { MessageChannel, Worker } from 'node:worker_threads';
import { isRemoteLocation, type Repository } from '../repo/index.js';
import type { WorkerInit } from './worker-protocol.js';

/** A worker allocates little that lives long: a small young generation keeps its memory flat. */
export const YOUNG_GENERATION_MB = 12;

/** What starting chunk workers takes: their data, and the repository (whose thread uploads a remote one's packs). */
export interface ChunkWorkerSetup {
  repo: Repository;
  data: WorkerInit;
}

/**
 * Starts a chunk worker. On a remote repository its packs are uploaded by this thread
 * (Repository.servePackUploads): the worker opens no store of its own.
 */
export function startChunkWorker(setup: ChunkWorkerSetup): Worker {
  const script = new URL('./chunk-worker.js', import.meta.url);
  const resourceLimits = { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB };
  if (!isRemoteLocation(setup.data.repoRoot)) return new Worker(script, { workerData: setup.data, resourceLimits });
  const { port1, port2 } = new MessageChannel();
  setup.repo.servePackUploads(port1);
  const worker = new Worker(script, { workerData: { ...setup.data, uploads: port2 }, transferList: [port2], resourceLimits });
  worker.once('exit', () => port1.close());
  return worker;
}
