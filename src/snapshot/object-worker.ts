import type { Worker } from 'node:worker_threads';
import type { IndexedBlob } from '../repo/index.js';
import type { ChunkAcc } from './file-processor.js';
import { startChunkWorker, type ChunkWorkerSetup } from './chunk-worker-start.js';
import { WorkerFailure } from './worker-pool.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

/** Bytes gathered before a batch goes to the worker (fewer, larger messages). */
const BATCH_BYTES = 1024 * 1024;
/** Bytes sent but not yet chunked; past this, writers wait (and the dump's pipe fills). */
const WINDOW_BYTES = 24 * 1024 * 1024;
/** Batch buffers kept for reuse: enough for a full window. */
const MAX_SPARE = WINDOW_BYTES / BATCH_BYTES + 2;

export interface StreamedObject {
  write(data: Uint8Array): Promise<void>;
  /** Resolves with the object's chunks once the worker has stored it. */
  close(): Promise<ChunkAcc>;
}

/**
 * Streams objects (database dumps) to one chunk worker: this thread only reads the dump and
 * batches its bytes, while the worker chunks, hashes, compresses and packs
 * them on another core. The dump tool is not held up by chunking, only by the window of unchunked
 * bytes. Index entries of the worker's packs reach `onBlobs` as objects close and at `finish`.
 */
export class ObjectWorker {
  private readonly worker: Worker;
  private nextId = 0;
  private unconsumed = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly closing = new Map<number, { resolve: (acc: ChunkAcc) => void; reject: (e: unknown) => void }>();
  /** Batch buffers the worker gave back, for the next batches. */
  private readonly spare: ArrayBuffer[] = [];
  private ended: { resolve: (r: { packs: number }) => void; reject: (e: unknown) => void } | undefined;
  private aborted: (() => void) | undefined;
  private stopping: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    init: ChunkWorkerSetup,
    private readonly onBlobs: (blobs: IndexedBlob[]) => void,
  ) {
    this.worker = startChunkWorker(init);
    this.worker.on('message', (m: FromWorker) => this.receive(m));
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new WorkerFailure(`chunk worker exited early with code ${code}`, undefined)));
  }

  open(): StreamedObject {
    const objectId = this.nextId++;
    this.post({ type: 'object-open', objectId });
    let batch = this.takeBuffer();
    let filled = 0;
    const flush = (): void => {
      if (filled === 0) return;
      const data = filled === batch.length ? batch : batch.subarray(0, filled);
      this.unconsumed += filled;
      this.post({ type: 'object-data', objectId, data }, [data.buffer as ArrayBuffer]);
      batch = this.takeBuffer();
      filled = 0;
    };
    return {
      write: async (data) => {
        this.throwIfFailed();
        let off = 0;
        while (off < data.length) {
          const n = Math.min(data.length - off, batch.length - filled);
          batch.set(data.subarray(off, off + n), filled);
          filled += n;
          off += n;
          if (filled === batch.length) flush();
        }
        while (this.unconsumed > WINDOW_BYTES && this.failure === undefined) await new Promise<void>((r) => this.waiting.push(r));
        this.throwIfFailed();
      },
      close: async () => {
        this.throwIfFailed();
        flush();
        this.spare.push(batch.buffer as ArrayBuffer);
        return new Promise<ChunkAcc>((resolve, reject) => {
          this.closing.set(objectId, { resolve, reject });
          this.post({ type: 'object-close', objectId });
        });
      },
    };
  }

  /** A batch buffer: one the worker gave back (no new memory to fault in), else a new one. */
  private takeBuffer(): Buffer {
    const spare = this.spare.pop();
    return spare ? Buffer.from(spare) : Buffer.allocUnsafeSlow(BATCH_BYTES);
  }

  /** Commits the worker's last pack; resolves with the number of packs it wrote. */
  async finish(): Promise<{ packs: number }> {
    this.throwIfFailed();
    const done = new Promise<{ packs: number }>((resolve, reject) => {
      this.ended = { resolve, reject };
    });
    this.post({ type: 'finish' });
    try {
      return await done;
    } finally {
      // its packs are committed: the thread is not waited for (~6 ms) before the backup goes on
      void this.worker.terminate().catch(() => {});
    }
  }

  /** Drops the worker's unfinished pack (after a failure) and stops it; a second call waits for the first. */
  abort(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.failure === undefined) {
        const done = new Promise<void>((resolve) => {
          this.aborted = resolve;
        });
        this.post({ type: 'abort' });
        await Promise.race([done, new Promise((r) => setTimeout(r, 5000).unref())]);
      }
      this.fail(new WorkerFailure('the chunk worker was stopped', undefined));
      await this.worker.terminate();
    })();
    return this.stopping;
  }

  private receive(m: FromWorker): void {
    switch (m.type) {
      case 'object-consumed':
        this.unconsumed -= m.bytes;
        if (this.spare.length < MAX_SPARE) this.spare.push(m.buffer);
        if (this.unconsumed <= WINDOW_BYTES) this.wake();
        return;
      case 'object-closed': {
        if (m.blobs.length > 0) this.onBlobs(m.blobs);
        const c = this.closing.get(m.objectId);
        this.closing.delete(m.objectId);
        c?.resolve({ content: m.content, size: m.size, newBlobs: m.newBlobs, newBytes: m.newBytes });
        return;
      }
      case 'finished':
        if (m.blobs.length > 0) this.onBlobs(m.blobs);
        this.ended?.resolve({ packs: m.packs });
        this.ended = undefined;
        return;
      case 'aborted':
        this.aborted?.();
        return;
      case 'error':
        this.fail(new WorkerFailure(m.message, m.errno, m.name));
        return;
      case 'result':
        return; // file jobs go through worker-pool.ts, never here
    }
  }

  private fail(e: unknown): void {
    this.failure ??= e;
    for (const c of this.closing.values()) c.reject(this.failure);
    this.closing.clear();
    this.ended?.reject(this.failure);
    this.ended = undefined;
    this.aborted?.();
    this.wake();
  }

  private wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private post(m: ToWorker, transfer?: ArrayBuffer[]): void {
    this.worker.postMessage(m, transfer);
  }
}
