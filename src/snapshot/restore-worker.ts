import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../core/clock.js';
import { closeConnections } from '../core/open-connections.js';
import { Repository, openBackend } from '../repo/index.js';
import type { FromRestoreWorker, RestoreWorkerInit, ToRestoreWorker } from './restore-pool.js';
import { restoreFiles } from './restorer.js';

/** Worker thread: writes the slices of a restore's files it is handed. */
const init = workerData as RestoreWorkerInit;
const port = parentPort!;
const send = (m: FromRestoreWorker): void => port.postMessage(m);

try {
  const repo = await Repository.open(await openBackend(init.repoRoot), systemClock, init.unlocked ? { unlocked: init.unlocked } : {});
  await repo.loadIndex();
  const reuse = repo.frameReuse();
  port.on('message', (m: ToRestoreWorker) => {
    if (m.type === 'end') {
      // a remote store's connection (an SSH session) would keep this thread alive
      void closeConnections().finally(() => port.close());
      return;
    }
    restoreFiles(repo, init.dest, m.files, init.verify, init.resume, (bytes) => send({ type: 'file', bytes }), reuse).then(
      (outcome) => send({ type: 'slice-done', outcome }),
      (e: NodeJS.ErrnoException) => send({ type: 'error', message: e.message, ...(e.code ? { code: e.code } : {}) }),
    );
  });
  send({ type: 'ready' });
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  send({ type: 'error', message: err.message, ...(err.code ? { code: err.code } : {}) });
}
