/** A local backend that fails (as a killed process would stop) once a number of changes have been made. */
import type { AtomicWrite, Backend, ReadBuffer, UnfinishedScope } from '../backend/backend.js';
import { LocalBackend } from '../backend/index.js';

export class Killed extends Error {
  override name = 'Killed';
}

/** Every change (put, putIfAbsent, delete, pack commit) counts; the one after `changes` throws Killed and is not made. */
export class FailingBackend implements Backend {
  private readonly inner: LocalBackend;
  made = 0;

  constructor(
    root: string,
    private readonly changes: number,
  ) {
    this.inner = new LocalBackend(root);
  }

  get location(): string {
    return this.inner.location;
  }

  private change(): void {
    if (this.made >= this.changes) throw new Killed(`killed before change ${this.made + 1}`);
    this.made++;
  }

  async put(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    this.change();
    return this.inner.put(name, data);
  }

  async putIfAbsent(name: string, data: Uint8Array): Promise<boolean> {
    this.change();
    return this.inner.putIfAbsent(name, data);
  }

  async delete(name: string): Promise<void> {
    this.change();
    return this.inner.delete(name);
  }

  openAtomic(prefixHint: string): AtomicWrite {
    const w = this.inner.openAtomic(prefixHint);
    return {
      write: (d) => w.write(d),
      get bytes() {
        return w.bytes;
      },
      commit: async (name) => {
        try {
          this.change();
        } catch (e) {
          await w.abort();
          throw e;
        }
        return w.commit(name);
      },
      abort: () => w.abort(),
    };
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
  removeUnfinished(prefix: string, scope?: UnfinishedScope): Promise<number> {
    return this.inner.removeUnfinished(prefix, scope);
  }
  space(): Promise<{ free: number; total: number } | undefined> {
    return this.inner.space();
  }
}
