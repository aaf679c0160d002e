/**
 * A backend that misbehaves as networks and stores do, at chosen calls: for tests of the layers
 * above the stores (retries, locks, repository reads). Each rule picks calls by operation and
 * object-name pattern, skips the first `after` of them, then hits the next `times` (default 1;
 * Infinity for every one).
 */
import type { AtomicWrite, Backend, CallOptions, ObjectInfo, ReadOptions } from '../backend/backend.js';
import { ForwardingBackend } from '../backend/forwarding-backend.js';
import { StoreError } from '../backend/store-error.js';

export type Operation = 'put' | 'putIfAbsent' | 'get' | 'getRange' | 'exists' | 'size' | 'list' | 'delete' | 'commit';

export type Fault =
  /** The call fails before it reaches the store (a 503, a refused connection). */
  | { kind: 'transient' }
  | { kind: 'permanent' }
  /** The call is made, then its answer is lost (a reset after the server acted). */
  | { kind: 'lost-answer' }
  /** The call waits this long (on the real clock) before it goes on. */
  | { kind: 'delay'; ms: number }
  /** A read answers with fewer bytes than the object has (a truncated body). */
  | { kind: 'truncate'; bytes: number }
  /** A read answers with one byte flipped. */
  | { kind: 'flip'; at: number };

export interface FaultRule {
  op: Operation | '*';
  /** Only objects whose name matches. */
  name?: RegExp;
  after?: number;
  times?: number;
  /** Only every n-th matching call (after `after`). */
  every?: number;
  /** Only while this holds (a store down for a while). */
  when?: () => boolean;
  fault: Fault;
}

interface LiveRule extends FaultRule {
  seen: number;
  hit: number;
}

export class FaultyBackend extends ForwardingBackend {
  private readonly rules: LiveRule[] = [];
  /** Every call made, in order: `op name`. */
  readonly calls: string[] = [];
  faultsInjected = 0;

  constructor(inner: Backend, rules: FaultRule[] = []) {
    super(inner);
    for (const r of rules) this.add(r);
  }

  add(rule: FaultRule): this {
    this.rules.push({ ...rule, seen: 0, hit: 0 });
    return this;
  }

  /** Every call fails (transient) while `down` holds: a store that is away for a while. */
  failWhile(down: () => boolean): this {
    return this.add({ op: '*', times: Infinity, when: down, fault: { kind: 'transient' } });
  }

  private pick(op: Operation, name: string): Fault | undefined {
    this.calls.push(`${op} ${name}`);
    for (const r of this.rules) {
      if ((r.op !== '*' && r.op !== op) || (r.name && !r.name.test(name))) continue;
      if (r.when && !r.when()) continue;
      r.seen++;
      if (r.seen <= (r.after ?? 0) || r.hit >= (r.times ?? 1)) continue;
      if (r.every && (r.seen - (r.after ?? 0)) % r.every !== 0) continue;
      r.hit++;
      this.faultsInjected++;
      return r.fault;
    }
    return undefined;
  }

  private async run<T>(op: Operation, name: string, call: () => Promise<T>, onRead?: (f: Fault, v: T) => T): Promise<T> {
    const f = this.pick(op, name);
    if (!f) return call();
    switch (f.kind) {
      case 'transient':
      case 'permanent':
        throw new StoreError(f.kind, this.location, `injected ${f.kind} fault on ${op} ${name}`, { objectName: name });
      case 'lost-answer':
        await call();
        throw new StoreError('transient', this.location, `injected reset after ${op} ${name}`, { objectName: name });
      case 'delay':
        await new Promise((r) => setTimeout(r, f.ms));
        return call();
      default: {
        const v = await call();
        return onRead ? onRead(f, v) : v;
      }
    }
  }

  override put(name: string, data: Uint8Array | readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    return this.run('put', name, () => this.inner.put(name, data, opts));
  }

  override putIfAbsent(name: string, data: Uint8Array, opts?: CallOptions): Promise<boolean> {
    return this.run('putIfAbsent', name, () => this.inner.putIfAbsent(name, data, opts));
  }

  override get(name: string, opts?: ReadOptions): Promise<Buffer> {
    return this.run('get', name, () => this.inner.get(name, opts), damage);
  }

  override getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    return this.run('getRange', name, () => this.inner.getRange(name, offset, length, opts), damage);
  }

  override exists(name: string, opts?: CallOptions): Promise<boolean> {
    return this.run('exists', name, () => this.inner.exists(name, opts));
  }

  override size(name: string, opts?: CallOptions): Promise<number> {
    return this.run('size', name, () => this.inner.size(name, opts));
  }

  override list(prefix: string, opts?: CallOptions): Promise<ObjectInfo[]> {
    return this.run('list', prefix, () => this.inner.list(prefix, opts));
  }

  override delete(name: string, opts?: CallOptions): Promise<void> {
    return this.run('delete', name, () => this.inner.delete(name, opts));
  }

  override openAtomic(prefixHint: string): AtomicWrite {
    const w = this.inner.openAtomic(prefixHint);
    return {
      write: (d) => w.write(d),
      get bytes() {
        return w.bytes;
      },
      commit: async (name, opts) => {
        try {
          await this.run('commit', name, () => w.commit(name, opts));
        } catch (e) {
          await w.abort().catch(() => undefined);
          throw e;
        }
      },
      abort: () => w.abort(),
    };
  }
}

function damage(f: Fault, v: Buffer): Buffer {
  if (f.kind === 'truncate') return Buffer.from(v.subarray(0, Math.max(0, v.length - f.bytes)));
  if (f.kind === 'flip') {
    const out = Buffer.from(v);
    if (out.length > 0) out[f.at % out.length]! ^= 0x01;
    return out;
  }
  return v;
}
