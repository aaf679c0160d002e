import { parentPort, workerData } from 'node:worker_threads';
import { systemClock } from '../core/clock.js';
import { closeConnections } from '../core/open-connections.js';
import { FrameDecoder, Repository, openBackend } from '../repo/index.js';
import { checkPackData } from './check-pack-data.js';
import type { CheckWorkerInit, FromCheckWorker, ToCheckWorker } from './check-pool.js';

/** Worker thread: reads and checks the packs of a verification it is handed, one after another. */
const init = workerData as CheckWorkerInit;
const port = parentPort!;
const send = (m: FromCheckWorker): void => port.postMessage(m);

try {
  const repo = await Repository.open(await openBackend(init.repoRoot), systemClock, {
    opened: init.config,
    ...(init.unlocked ? { unlocked: init.unlocked } : {}),
  });
  const reading = { into: { buffer: Buffer.alloc(0) }, decoder: new FrameDecoder(repo.crypt) };
  let queue = Promise.resolve();
  port.on('message', (m: ToCheckWorker) => {
    if (m.type === 'end') {
      void queue.then(closeConnections).finally(() => port.close());
      return;
    }
    queue = queue.then(async () => {
      try {
        send({ type: 'pack-done', n: m.n, result: await checkPackData(repo, reading, m.job.pack, m.job.blobs, m.job.size) });
      } catch (e) {
        send({ type: 'error', message: (e as Error).message });
      }
    });
  });
  send({ type: 'ready' });
} catch (e) {
  send({ type: 'error', message: (e as Error).message });
}
