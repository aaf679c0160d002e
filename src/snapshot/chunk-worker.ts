import { parentPort, workerData } from 'node:worker_threads';
import { LocalBackend } from '../backend/local-backend.js';
import { Chunker, gearTable } from '../codec/chunker.js';
import { FrameCompressor } from '../codec/compress.js';
import { IdSetView, PackWriter } from '../repo/index.js';
import { FileProcessor } from './file-processor.js';
import type { FromWorker, ToWorker, WorkerInit } from './worker-protocol.js';

/** Worker thread: runs FileProcessor over the jobs the archiver sends. */
const init = workerData as WorkerInit;
const writer = new PackWriter(new LocalBackend(init.repoRoot), new FrameCompressor(init.compression));
const processor = new FileProcessor(new Chunker(gearTable(init.chunkerSeed), init.chunker), writer, new IdSetView(init.known));
const port = parentPort!;
let queue = Promise.resolve();
let reported = 0;

function send(m: FromWorker): void {
  port.postMessage(m);
}

function storedSinceLastReport(): number {
  const s = writer.storedBytes - reported;
  reported = writer.storedBytes;
  return s;
}

port.on('message', (msg: ToWorker) => {
  queue = queue.then(async () => {
    try {
      if (msg.type === 'job') {
        const results = [];
        for (const f of msg.files) results.push(await processor.process(f));
        send({ type: 'result', jobId: msg.jobId, results, blobs: processor.takeWritten(), storedBytes: storedSinceLastReport() });
      } else {
        const blobs = await processor.finish();
        send({ type: 'finished', blobs, storedBytes: storedSinceLastReport(), packs: writer.packsWritten });
      }
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      await writer.abort().catch(() => {});
      send({ type: 'error', errno: err.code, name: err.name, message: err.message });
    }
  });
});
