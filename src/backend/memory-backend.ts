import { createHash } from 'node:crypto';
import type { AtomicWrite, Backend, CallOptions, ObjectInfo, ReadOptions } from './backend.js';
import { ObjectNotFoundError } from './store-error.js';
import { checkedName } from './object-name.js';
import { bufferedWrite } from './buffered-write.js';

/** Objects in a Map: for fast tests of the layers above the stores (it passes the same conformance suite). */
export class MemoryBackend implements Backend {
  private readonly objects = new Map<string, Buffer>();

  constructor(
    readonly location = 'memory:',
    /** List each object's MD5, as S3 and Azure do (ObjectInfo.md5). */
    private readonly listsMd5 = false,
  ) {}

  async put(name: string, data: Uint8Array | readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    this.objects.set(checkedName(name), Buffer.concat(data instanceof Uint8Array ? [data] : (data as Uint8Array[])));
  }

  async putIfAbsent(name: string, data: Uint8Array, opts?: CallOptions): Promise<boolean> {
    opts?.signal?.throwIfAborted();
    if (this.objects.has(checkedName(name))) return false;
    this.objects.set(name, Buffer.from(data));
    return true;
  }

  async get(name: string, opts?: ReadOptions): Promise<Buffer> {
    opts?.signal?.throwIfAborted();
    return Buffer.from(this.found(name));
  }

  async getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    opts?.signal?.throwIfAborted();
    const obj = this.found(name);
    if (offset < 0 || length < 0 || offset + length > obj.length) throw new Error(`short read of ${name}: ${length} bytes at ${offset} of ${obj.length}`);
    return Buffer.from(obj.subarray(offset, offset + length));
  }

  async exists(name: string, opts?: CallOptions): Promise<boolean> {
    opts?.signal?.throwIfAborted();
    return this.objects.has(name);
  }

  async size(name: string, opts?: CallOptions): Promise<number> {
    opts?.signal?.throwIfAborted();
    return this.found(name).length;
  }

  async list(prefix: string, opts?: CallOptions): Promise<ObjectInfo[]> {
    opts?.signal?.throwIfAborted();
    const under = prefix === '' ? '' : `${prefix.replace(/\/+$/, '')}/`;
    return [...this.objects]
      .filter(([n]) => n.startsWith(under))
      .map(([name, b]) => ({ name, size: b.length, ...(this.listsMd5 ? { md5: createHash('md5').update(b).digest('hex') } : {}) }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async delete(name: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    this.objects.delete(name);
  }

  openAtomic(): AtomicWrite {
    return bufferedWrite((name, parts, opts) => this.put(name, parts, opts));
  }

  async removeUnfinished(): Promise<number> {
    return 0; // a write is one Map.set: nothing is ever left half done
  }

  private found(name: string): Buffer {
    const obj = this.objects.get(name);
    if (!obj) throw new ObjectNotFoundError(name, this.location);
    return obj;
  }
}
