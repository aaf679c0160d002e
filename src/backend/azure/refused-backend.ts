import type { AtomicWrite, Backend } from '../backend.js';
import type { StoreError } from '../store-error.js';

/**
 * The backend of a location whose configuration is unusable (no credentials, an account that does
 * not match them): every call fails with the same permanent StoreError, so that it reaches the
 * operator the way store errors do (STORE_REFUSED through the RetryingBackend), also in worker
 * threads, instead of a throw while the backend is constructed.
 */
export class RefusedBackend implements Backend {
  constructor(private readonly error: StoreError) {}

  get location(): string {
    return this.error.store;
  }

  private async refuse(): Promise<never> {
    throw this.error;
  }

  put = (): Promise<void> => this.refuse();
  putIfAbsent = (): Promise<boolean> => this.refuse();
  get = (): Promise<Buffer> => this.refuse();
  getRange = (): Promise<Buffer> => this.refuse();
  exists = (): Promise<boolean> => this.refuse();
  size = (): Promise<number> => this.refuse();
  list = (): Promise<never> => this.refuse();
  delete = (): Promise<void> => this.refuse();
  removeUnfinished = (): Promise<number> => this.refuse();

  openAtomic(): AtomicWrite {
    let bytes = 0;
    return {
      write: (data) => void (bytes += data.length),
      get bytes() {
        return bytes;
      },
      commit: () => this.refuse(),
      abort: async () => undefined,
    };
  }

  requestCounts(): Record<string, number> {
    return {};
  }

  async close(): Promise<void> {}
}
