import type { AtomicWrite, Backend, CallOptions, FolderVersion, ObjectInfo, ReadOptions, UnfinishedScope, Wrapping } from './backend.js';

/** A backend that hands every call to another: the base of backends that change a few of them (sealing, retries, fault injection). */
export class ForwardingBackend implements Backend, Wrapping {
  constructor(protected readonly inner: Backend) {}

  /** The backend below. */
  get innerBackend(): Backend {
    return this.inner;
  }

  get location(): string {
    return this.inner.location;
  }

  put(name: string, data: Uint8Array | readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    return this.inner.put(name, data, opts);
  }

  putIfAbsent(name: string, data: Uint8Array, opts?: CallOptions): Promise<boolean> {
    return this.inner.putIfAbsent(name, data, opts);
  }

  get(name: string, opts?: ReadOptions): Promise<Buffer> {
    return this.inner.get(name, opts);
  }

  getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    return this.inner.getRange(name, offset, length, opts);
  }

  exists(name: string, opts?: CallOptions): Promise<boolean> {
    return this.inner.exists(name, opts);
  }

  size(name: string, opts?: CallOptions): Promise<number> {
    return this.inner.size(name, opts);
  }

  list(prefix: string, opts?: CallOptions): Promise<ObjectInfo[]> {
    return this.inner.list(prefix, opts);
  }

  folderVersion(prefix: string): Promise<FolderVersion | undefined> {
    return this.inner.folderVersion ? this.inner.folderVersion(prefix) : Promise.resolve(undefined);
  }

  delete(name: string, opts?: CallOptions): Promise<void> {
    return this.inner.delete(name, opts);
  }

  openAtomic(prefixHint: string): AtomicWrite {
    return this.inner.openAtomic(prefixHint);
  }

  removeUnfinished(prefix: string, scope?: UnfinishedScope): Promise<number> {
    return this.inner.removeUnfinished(prefix, scope);
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
