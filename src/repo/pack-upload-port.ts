import type { MessagePort } from 'node:worker_threads';
import type { AtomicWrite, Backend, ObjectInfo } from '../backend/backend.js';
import { bufferedWrite } from '../backend/buffered-write.js';
import { StoreError, isStoreError } from '../backend/store-error.js';
import { PrismError, isPrismError } from '../errors/index.js';

/**
 * Packs that worker threads write to a remote repository, uploaded by the thread that opened the
 * store: a worker then needs no store client of its own (the AWS SDK alone costs ~22 MiB in every
 * thread that loads it, an SFTP session its own connection), and uploads go through the one
 * store, with its retries, retention and request count. A local repository's workers write their
 * files themselves.
 */
interface UploadRequest {
  id: number;
  name: string;
  parts: Uint8Array[];
}

interface UploadReply {
  id: number;
  error?: SentError;
}

type SentError =
  | { kind: 'store'; storeKind: StoreError['kind']; store: string; message: string; objectName?: string; denied: boolean }
  | { kind: 'prism'; code: PrismError['code']; message: string; details: Record<string, unknown> }
  | { kind: 'other'; name: string; message: string };

/** Serves the uploads of the worker on the other end of `port` with `backend` (the repository's store). */
export function servePackUploads(backend: Backend, port: MessagePort): void {
  port.on('message', (m: UploadRequest) => {
    backend.put(m.name, m.parts).then(
      () => port.postMessage({ id: m.id } satisfies UploadReply),
      (e: unknown) => port.postMessage({ id: m.id, error: sendable(e) } satisfies UploadReply),
    );
  });
  port.unref(); // the worker's own handle keeps the process alive while it runs
}

/**
 * A worker's backend that only writes packs (openAtomic, then commit), each sent whole through
 * `port` to servePackUploads; the write resolves once the store has it. Nothing is read.
 */
export class PackUploadBackend implements Backend {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: () => void; reject: (e: unknown) => void }>();

  constructor(
    private readonly port: MessagePort,
    readonly location: string,
  ) {
    port.on('message', (r: UploadReply) => {
      const w = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      if (this.waiting.size === 0) port.unref();
      if (r.error) w?.reject(received(r.error));
      else w?.resolve();
    });
    port.unref(); // held only while an upload waits for its answer
  }

  put(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    const parts = data instanceof Uint8Array ? [data] : [...data];
    // a part that is the whole of its own memory moves without a copy; smaller ones (pooled) are copied
    const transfer = parts
      .filter((p) => p.byteOffset === 0 && p.byteLength === p.buffer.byteLength && p.byteLength >= 64 * 1024)
      .map((p) => p.buffer as ArrayBuffer);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.port.ref();
      this.port.postMessage({ id, name, parts } satisfies UploadRequest, transfer);
    });
  }

  openAtomic(_prefixHint?: string): AtomicWrite {
    return bufferedWrite((name, parts) => this.put(name, parts));
  }

  async removeUnfinished(): Promise<number> {
    return 0; // a pack is one put on the uploading thread: nothing is left half written here
  }

  putIfAbsent(_name: string): Promise<boolean> {
    return unavailable('putIfAbsent');
  }
  get(_name: string): Promise<Buffer> {
    return unavailable('get');
  }
  getRange(_name: string): Promise<Buffer> {
    return unavailable('getRange');
  }
  exists(_name: string): Promise<boolean> {
    return unavailable('exists');
  }
  size(_name: string): Promise<number> {
    return unavailable('size');
  }
  list(_prefix: string): Promise<ObjectInfo[]> {
    return unavailable('list');
  }
  delete(_name: string): Promise<void> {
    return unavailable('delete');
  }
}

function unavailable(op: string): Promise<never> {
  return Promise.reject(new Error(`${op}: a worker thread's pack uploads go through another thread, which alone reads the store`));
}

function sendable(e: unknown): SentError {
  if (isStoreError(e))
    return { kind: 'store', storeKind: e.kind, store: e.store, message: e.message, ...(e.objectName ? { objectName: e.objectName } : {}), denied: e.denied };
  if (isPrismError(e)) return { kind: 'prism', code: e.code, message: e.message, details: e.details };
  return { kind: 'other', name: e instanceof Error ? e.name : 'Error', message: e instanceof Error ? e.message : String(e) };
}

function received(e: SentError): Error {
  if (e.kind === 'store') return new StoreError(e.storeKind, e.store, e.message, { ...(e.objectName ? { objectName: e.objectName } : {}), denied: e.denied });
  if (e.kind === 'prism') return new PrismError(e.code, e.message, e.details);
  const err = new Error(e.message);
  err.name = e.name;
  return err;
}
