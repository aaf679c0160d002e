import type { AtomicWrite, Backend, ReadBuffer, UnfinishedScope } from './backend.js';

/** A backend that hands every call to another: the base of backends that change a few of them (sealing, fault injection). */
export class ForwardingBackend implements Backend {
  constructor(protected readonly inner: Backend) {}

  /** The backend below. */
  get innerBackend(): Backend {
    return this.inner;
  }

  get location(): string {
    return this.inner.location;
  }

  put(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    return this.inner.put(name, data);
  }

  putIfAbsent(name: string, data: Uint8Array): Promise<boolean> {
    return this.inner.putIfAbsent(name, data);
  }

  get(name: string, into?: ReadBuffer): Promise<Buffer> {
    return this.inner.get(name, into);
  }

  getRange(name: string, offset: number, length: number, into?: ReadBuffer): Promise<Buffer> {
    return this.inner.getRange(name, offset, length, into);
  }

  exists(name: string): Promise<boolean> {
    return this.inner.exists(name);
  }

  size(name: string): Promise<number> {
    return this.inner.size(name);
  }

  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix);
  }

  delete(name: string): Promise<void> {
    return this.inner.delete(name);
  }

  openAtomic(prefixHint: string): AtomicWrite {
    return this.inner.openAtomic(prefixHint);
  }

  removeUnfinished(prefix: string, scope?: UnfinishedScope): Promise<number> {
    return this.inner.removeUnfinished(prefix, scope);
  }

  space(): Promise<{ free: number; total: number } | undefined> {
    return this.inner.space();
  }
}
