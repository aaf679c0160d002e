import { parentPort, workerData } from 'node:worker_threads';
import { LocalBackend } from '../backend/local-backend.js';
import { systemClock } from '../core/clock.js';
import { Repository } from '../repo/index.js';
import type { FromRestoreWorker, RestoreWorkerInit } from './restore-pool.js';
import { restoreFiles } from './restorer.js';

/** Worker thread: writes its share of a restore's files. */
const init = workerData as RestoreWorkerInit;
const port = parentPort!;
const send = (m: FromRestoreWorker): void => port.postMessage(m);

try {
  const repo = await Repository.open(new LocalBackend(init.repoRoot), systemClock);
  await repo.loadIndex();
  const outcome = await restoreFiles(repo, init.dest, init.files, init.verify, (bytes) => send({ type: 'file', bytes }));
  send({ type: 'done', outcome });
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  send({ type: 'error', message: err.message, ...(err.code ? { code: err.code } : {}) });
}
