import type { Backend, ObjectInfo, ReadOptions } from './backend.js';
import { ForwardingBackend } from './forwarding-backend.js';

/** How much of a pack one request fetches ahead (a pack is 16 MiB: two requests). */
export const READ_AHEAD_BYTES = 8 * 1024 * 1024;

/**
 * Reads of packs on a remote store in large windows: a restore reads a pack frame by frame (64 KiB
 * to 1 MiB each), and on an object store every read is a request — paid for, and a round trip.
 * A read of a frame fetches the window from it to READ_AHEAD_BYTES further (within the pack);
 * the frames after it, which a restore reads next, are served from that window. One window is
 * kept (a thread reads its files' packs in order); a read larger than the window goes straight
 * through. Pack sizes come from one listing of data/, so a window never asks past a pack's end.
 */
export class ReadAheadBackend extends ForwardingBackend {
  private window: { name: string; offset: number; bytes: Buffer } | undefined;
  private sizes: Map<string, number> | undefined;
  /** Packs not in a listing made after they were first asked for: not listed again for them (a missing pack). */
  private readonly unlisted = new Set<string>();
  /** Requests saved (frames served from a window), for tests and the benchmark. */
  served = 0;

  constructor(
    inner: Backend,
    private readonly windowBytes = READ_AHEAD_BYTES,
  ) {
    super(inner);
  }

  override async getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    if (!name.startsWith('data/') || length >= this.windowBytes) return this.inner.getRange(name, offset, length, opts);
    const w = this.window;
    if (!w || w.name !== name || offset < w.offset || offset + length > w.offset + w.bytes.length) {
      const size = await this.sizeOf(name, opts);
      const end = Math.min(size ?? offset + length, offset + this.windowBytes);
      if (end < offset + length) return this.inner.getRange(name, offset, length, opts); // past the end as listed: let the store say
      this.window = undefined;
      const bytes = await this.inner.getRange(name, offset, end - offset, { signal: opts?.signal });
      this.window = { name, offset, bytes };
    } else {
      this.served++;
    }
    const view = this.window!.bytes.subarray(offset - this.window!.offset, offset - this.window!.offset + length);
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
    if (this.window?.name === name) this.window = undefined;
    this.sizes?.delete(name);
    return this.inner.delete(name, opts);
  }
}
