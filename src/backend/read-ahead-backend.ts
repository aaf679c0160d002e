import type { Backend, ObjectInfo, ReadOptions } from './backend.js';
import { ForwardingBackend } from './forwarding-backend.js';

/** How much of a pack one request fetches ahead (a pack is 16 MiB: two requests). */
export const READ_AHEAD_BYTES = 8 * 1024 * 1024;

/**
 * Reads of packs on a remote store in large windows: a restore reads a pack frame by frame (64 KiB
 * to 1 MiB each), and on an object store every read is a request — paid for, and a round trip.
 * A read of a frame fetches the window from it to READ_AHEAD_BYTES further (within the pack);
 * the frames after it, which a restore reads next, are served from that window. A few windows
 * are kept, the least recently used dropped first: a thread reads its files in order, but two
 * chunk workers wrote neighbouring files into two packs at once, so a restore alternates between
 * them. A read larger than a window goes straight through. Pack sizes come from one listing of data/, so a window never asks past a pack's end.
 */
export class ReadAheadBackend extends ForwardingBackend {
  /** Windows, least recently used first. */
  private windows: Array<{ name: string; offset: number; bytes: Buffer }> = [];
  private sizes: Map<string, number> | undefined;
  /** Packs not in a listing made after they were first asked for: not listed again for them (a missing pack). */
  private readonly unlisted = new Set<string>();
  /** Requests saved (frames served from a window), for tests and the benchmark. */
  served = 0;

  constructor(
    inner: Backend,
    private readonly windowBytes = READ_AHEAD_BYTES,
    private readonly keep = 3,
  ) {
    super(inner);
  }

  override async getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    if (!name.startsWith('data/') || length >= this.windowBytes || opts?.planned) return this.inner.getRange(name, offset, length, opts);
    let at = this.windows.findIndex((w) => w.name === name && offset >= w.offset && offset + length <= w.offset + w.bytes.length);
    if (at < 0) {
      const size = await this.sizeOf(name, opts);
      const end = Math.min(size ?? offset + length, offset + this.windowBytes);
      if (end < offset + length) return this.inner.getRange(name, offset, length, opts); // past the end as listed: let the store say
      if (this.windows.length >= this.keep) this.windows.shift();
      const bytes = await this.inner.getRange(name, offset, end - offset, { signal: opts?.signal });
      this.windows.push({ name, offset, bytes });
      at = this.windows.length - 1;
    } else {
      this.served++;
      this.windows.push(...this.windows.splice(at, 1)); // most recently used last
      at = this.windows.length - 1;
    }
    const w = this.windows[at]!;
    const view = w.bytes.subarray(offset - w.offset, offset - w.offset + length);
    const into = opts?.into;
    if (!into) return Buffer.from(view);
    if (into.buffer.length < length) into.buffer = Buffer.allocUnsafeSlow(Math.max(length, Math.floor(into.buffer.length * 1.5)));
    view.copy(into.buffer);
    return into.buffer.subarray(0, length);
  }

  /** A pack's size from one listing of data/ (listed again for a pack newer than the listing). */
  private async sizeOf(name: string, opts?: ReadOptions): Promise<number | undefined> {
    if (!this.sizes?.has(name) && !this.unlisted.has(name)) {
      const listed: ObjectInfo[] = await this.inner.list('data', { signal: opts?.signal });
      this.sizes = new Map(listed.map((o) => [o.name, o.size]));
      if (!this.sizes.has(name)) this.unlisted.add(name);
    }
    return this.sizes?.get(name);
  }

  override async delete(name: string, opts?: ReadOptions): Promise<void> {
    this.windows = this.windows.filter((w) => w.name !== name);
    this.sizes?.delete(name);
    return this.inner.delete(name, opts);
  }
}
