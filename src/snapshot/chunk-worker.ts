import { parentPort, workerData } from 'node:worker_threads';
import { Chunker, gearTable } from '../codec/chunker.js';
import { FrameCompressor } from '../codec/compress.js';
import { Crypt, IdSetView, PackUploadBackend, PackWriter, openBackend } from '../repo/index.js';
import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { FileProcessor, storeChunks, type ChunkAcc } from './file-processor.js';
import { ObjectChunker } from './object-chunker.js';
import type { FromWorker, ToWorker, WholeFileStored, WorkerInit } from './worker-protocol.js';

/** Worker thread: runs FileProcessor over the file jobs and ObjectChunker over the streamed objects the archivers send. */
const init = workerData as WorkerInit;
const writer = new PackWriter(
  init.uploads ? new PackUploadBackend(init.uploads, init.repoRoot) : await openBackend(init.repoRoot, process.env, init.store),
  new FrameCompressor(init.compression),
  undefined,
  Crypt.from(init.secrets),
);
const chunker = new Chunker(gearTable(init.chunkerSeed), init.chunker);
const known = new IdSetView(init.known);
const processor = new FileProcessor(chunker, writer, known);
const objects = new Map<number, ObjectChunker>();
const port = parentPort!;
let queue = Promise.resolve();
let reported = 0;
let failed = false;

function send(m: FromWorker, transfer?: ArrayBuffer[]): void {
  port.postMessage(m, transfer);
}

function storedSinceLastReport(): number {
  const s = writer.storedBytes - reported;
  reported = writer.storedBytes;
  return s;
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'job': {
      const results = [];
      for (const f of msg.files) results.push(await processor.process(f));
      send({ type: 'result', jobId: msg.jobId, results, blobs: processor.takeWritten(), storedBytes: storedSinceLastReport() });
      return;
    }
    case 'object-open':
      objects.set(msg.objectId, new ObjectChunker(chunker, writer, known));
      return;
    case 'object-data': {
      await objects.get(msg.objectId)!.write(msg.data); // (copies what it keeps: the buffer is free after it)
      const buffer = msg.data.buffer as ArrayBuffer;
      send({ type: 'object-consumed', bytes: msg.data.length, buffer }, [buffer]);
      return;
    }
    case 'object-close': {
      const acc = await objects.get(msg.objectId)!.close();
      objects.delete(msg.objectId);
      send({ type: 'object-closed', objectId: msg.objectId, ...acc, blobs: writer.takeWritten() });
      return;
    }
    case 'whole-file': {
      try {
        const stored = await storeWholeFile(msg.path);
        send({ type: 'whole-file-done', jobId: msg.jobId, stored });
      } catch (e) {
        await writer.abort().catch(() => {});
        const err = e as NodeJS.ErrnoException;
        send({ type: 'whole-file-done', jobId: msg.jobId, failure: { errno: err.code, name: err.name, message: err.message } });
      }
      return;
    }
    case 'finish': {
      const blobs = await processor.finish();
      send({ type: 'finished', blobs, storedBytes: storedSinceLastReport(), packs: writer.packsWritten });
      return;
    }
    case 'abort':
      await writer.abort();
      send({ type: 'aborted' });
      return;
  }
}

let whole = Buffer.alloc(0);

/**
 * Reads a file whole into one reused buffer (one read, no stream), hashes it once as a whole
 * (SHA-256) and cuts, hashes and compresses its chunks into packs, which are committed before
 * this returns: the index entries it gives back name only packs that are there.
 */
async function storeWholeFile(path: string): Promise<WholeFileStored> {
  const fd = openSync(path, 'r');
  let size = 0;
  try {
    const want = fstatSync(fd).size + 1; // one byte more: a file that grew is read to its end
    if (whole.length < want) whole = Buffer.allocUnsafeSlow(Math.max(want, 16 << 20) + 1);
    for (;;) {
      if (size === whole.length) {
        const bigger = Buffer.allocUnsafeSlow(whole.length * 2);
        whole.copy(bigger, 0, 0, size);
        whole = bigger;
      }
      const n = readSync(fd, whole, size, whole.length - size, null);
      if (n === 0) break;
      size += n;
    }
  } finally {
    closeSync(fd);
  }
  const data = whole.subarray(0, size);
  const sha256 = createHash('sha256').update(data).digest('hex');
  const acc: ChunkAcc = { content: [], size: 0, newBlobs: 0, newBytes: 0 };
  storeChunks(chunker, writer, known, data, size, true, acc);
  const blobs = await writer.finish();
  return { ...acc, sha256, blobs };
}

port.on('message', (msg: ToWorker) => {
  queue = queue.then(async () => {
    if (failed && msg.type !== 'abort') return;
    try {
      await handle(msg);
    } catch (e) {
      failed = true;
      const err = e as NodeJS.ErrnoException;
      await writer.abort().catch(() => {});
      send({ type: 'error', errno: err.code, name: err.name, message: err.message });
    }
  });
});
