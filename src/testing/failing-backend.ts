/** A local backend that fails (as a killed process would stop) once a number of changes have been made. */
import type { AtomicWrite } from '../backend/backend.js';
import { ForwardingBackend } from '../backend/forwarding-backend.js';
import { LocalBackend } from '../backend/index.js';

export class Killed extends Error {
  override name = 'Killed';
}

/** Every change (put, putIfAbsent, delete, pack commit) counts; the one after `changes` throws Killed and is not made. */
export class FailingBackend extends ForwardingBackend {
  made = 0;

  constructor(
    root: string,
    private readonly changes: number,
  ) {
    super(new LocalBackend(root));
  }

  private change(): void {
    if (this.made >= this.changes) throw new Killed(`killed before change ${this.made + 1}`);
    this.made++;
  }

  override async put(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
    this.change();
    return this.inner.put(name, data);
  }

  override async putIfAbsent(name: string, data: Uint8Array): Promise<boolean> {
    this.change();
    return this.inner.putIfAbsent(name, data);
  }

  override async delete(name: string): Promise<void> {
    this.change();
    return this.inner.delete(name);
  }

  override openAtomic(prefixHint: string): AtomicWrite {
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
}
