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
/** Progress is reported after this many files or bytes (and at the end of each slice). */
const PROGRESS_FILES = 64;
const PROGRESS_BYTES = 8 * 1024 * 1024;

try {
  const repo = await Repository.open(await openBackend(init.repoRoot), systemClock, {
    opened: init.config,
    ...(init.unlocked ? { unlocked: init.unlocked } : {}),
  });
  repo.adoptIndex(init.index);
  const reuse = repo.frameReuse();
  // progress goes to the calling thread in batches: a message per file costs more than a small file's write
  let files = 0;
  let bytes = 0;
  const flush = (): void => {
    if (files > 0) send({ type: 'files', files, bytes });
    files = 0;
    bytes = 0;
  };
  const onFile = (n: number): void => {
    files++;
    bytes += n;
    if (files >= PROGRESS_FILES || bytes >= PROGRESS_BYTES) flush();
  };
  port.on('message', (m: ToRestoreWorker) => {
    if (m.type === 'end') {
      // a remote store's connection (an SSH session) would keep this thread alive
      void closeConnections().finally(() => port.close());
      return;
    }
    restoreFiles(repo, m.job.dest, m.files, init.verify, m.job.resume, onFile, reuse, undefined, m.job.plan).then(
      (outcome) => {
        flush();
        send({ type: 'slice-done', outcome });
      },
      (e: NodeJS.ErrnoException) => send({ type: 'error', message: e.message, ...(e.code ? { code: e.code } : {}) }),
    );
  });
  send({ type: 'ready' });
} catch (e) {
  const err = e as NodeJS.ErrnoException;
  send({ type: 'error', message: err.message, ...(err.code ? { code: err.code } : {}) });
}
