import type { Backend } from '../backend/backend.js';
import type { BlobLocation } from './blob-entry.js';
import { packName } from './layout.js';

/** Frames of one pack closer than this are fetched in one range (the bytes between them read and dropped). */
export const PLAN_GAP_BYTES = 1024 * 1024;
/** The largest range one request fetches (half a pack). */
export const PLAN_RANGE_BYTES = 8 * 1024 * 1024;
/** Ranges fetched at once. */
export const PLAN_IN_FLIGHT = 6;
/** Stored bytes fetched ahead (in flight or waiting to be read) at most, by default. */
export const PLAN_BUDGET_BYTES = 64 * 1024 * 1024;

export interface PlanOptions {
  /** Stored bytes in flight or held, waiting for their reader (the range the reader waits for is always fetched). */
  budgetBytes?: number;
  inFlight?: number;
  rangeBytes?: number;
  gapBytes?: number;
}

interface Range {
  pack: string;
  start: number;
  end: number;
  /** Frames of it not read yet. */
  remaining: number;
  /** The order of the last frame read from it. */
  last: number;
  /** Planned bytes before this range: a range is extended only while the reader is near it. */
  plannedBefore: number;
  state: 'planned' | 'fetching' | 'done' | 'released';
  fetched?: Promise<void>;
  bytes?: Buffer;
  error?: unknown;
}

/**
 * The frames a reader (a restore) will read, in the order it reads them, fetched ahead pack by
 * pack: neighbouring frames of a pack are coalesced into ranges of up to PLAN_RANGE_BYTES, several
 * ranges are in flight at once, and the bytes fetched but not read yet stay within a budget. The
 * reader takes each frame's stored bytes with `take` (a range is dropped once its last frame is
 * read, or the reader has moved past it); a frame not planned, or asked for again after it was
 * taken, gives undefined: the caller reads it from the store itself.
 */
export class PlannedReads {
  private readonly ranges: Range[] = [];
  /** pack:frameOffset → the frame's order and range. */
  private readonly frames = new Map<string, { order: number; range: Range; length: number }>();
  private next = 0;
  private inFlight = 0;
  private released = 0;
  private readonly abort = new AbortController();
  private readonly budget: number;
  private readonly maxInFlight: number;
  /** Bytes fetched or being fetched and not released. */
  held = 0;
  /** The most `held` reached (tests, the benchmark). */
  peakHeld = 0;
  /** Ranges requested from the store. */
  requests = 0;

  constructor(
    private readonly backend: Backend,
    locations: Iterable<BlobLocation>,
    opts: PlanOptions = {},
  ) {
    this.budget = opts.budgetBytes ?? PLAN_BUDGET_BYTES;
    this.maxInFlight = Math.max(1, opts.inFlight ?? PLAN_IN_FLIGHT);
    const rangeBytes = opts.rangeBytes ?? PLAN_RANGE_BYTES;
    const gap = opts.gapBytes ?? PLAN_GAP_BYTES;
    const open = new Map<string, Range>();
    let planned = 0;
    let order = 0;
    for (const loc of locations) {
      const key = `${loc.pack}:${loc.frameOffset}`;
      if (this.frames.has(key)) continue;
      const end = loc.frameOffset + loc.frameLength;
      let r = open.get(loc.pack);
      const extend =
        r !== undefined &&
        loc.frameOffset >= r.end &&
        loc.frameOffset - r.end <= gap &&
        end - r.start <= rangeBytes &&
        // a range the reader left far behind is not held on for a frame read much later
        planned - r.plannedBefore <= this.budget / 2;
      if (extend) {
        planned += end - r!.end;
        r!.end = end;
      } else {
        r = { pack: loc.pack, start: loc.frameOffset, end, remaining: 0, last: 0, plannedBefore: planned, state: 'planned' };
        planned += loc.frameLength;
        this.ranges.push(r);
        open.set(loc.pack, r);
      }
      r!.remaining++;
      r!.last = order;
      this.frames.set(key, { order: order++, range: r!, length: loc.frameLength });
    }
    this.pump();
  }

  /** The planned ranges (tests). */
  get rangeCount(): number {
    return this.ranges.length;
  }

  /** The stored bytes of the frame at `loc` if it was planned and not taken yet; otherwise undefined. */
  async take(loc: Pick<BlobLocation, 'pack' | 'frameOffset' | 'frameLength'>): Promise<Buffer | undefined> {
    const key = `${loc.pack}:${loc.frameOffset}`;
    const f = this.frames.get(key);
    if (!f || f.length !== loc.frameLength) return undefined;
    this.frames.delete(key);
    const r = f.range;
    this.passed(f.order);
    if (r.state === 'planned') {
      // the reader waits for it: fetched now, whatever the budget, with every range planned before it
      while (this.next < this.ranges.length && r.state === 'planned') this.start(this.ranges[this.next++]!);
    }
    await r.fetched;
    if (r.error !== undefined) {
      this.release(r);
      throw r.error;
    }
    const bytes = r.bytes!.subarray(loc.frameOffset - r.start, loc.frameOffset - r.start + loc.frameLength);
    if (--r.remaining === 0) this.release(r);
    return bytes;
  }

  /** Stops fetching and drops what is held. */
  close(): void {
    this.abort.abort(new Error('the restore has ended'));
    for (const r of this.ranges) this.release(r);
    this.frames.clear();
  }

  /** The reader has reached frame `order`: ranges whose frames all come before it are dropped (frames of a file that failed). */
  private passed(order: number): void {
    for (; this.released < this.ranges.length; this.released++) {
      const r = this.ranges[this.released]!;
      if (r.last >= order) return;
      this.release(r);
    }
  }

  private pump(): void {
    while (this.next < this.ranges.length && this.inFlight < this.maxInFlight) {
      const r = this.ranges[this.next]!;
      if (r.state !== 'planned') {
        this.next++;
        continue;
      }
      if (this.held > 0 && this.held + (r.end - r.start) > this.budget) return;
      this.next++;
      this.start(r);
    }
  }

  private start(r: Range): void {
    if (r.state !== 'planned') return;
    r.state = 'fetching';
    this.inFlight++;
    this.requests++;
    this.held += r.end - r.start;
    this.peakHeld = Math.max(this.peakHeld, this.held);
    r.fetched = this.backend.getRange(packName(r.pack), r.start, r.end - r.start, { signal: this.abort.signal, planned: true }).then(
      (bytes) => {
        this.inFlight--;
        if (r.state === 'fetching') {
          r.state = 'done';
          r.bytes = bytes;
        }
        this.pump();
      },
      (e: unknown) => {
        this.inFlight--;
        if (r.state === 'fetching') r.state = 'done';
        r.error = e;
        this.pump();
      },
    );
  }

  private release(r: Range): void {
    if (r.state === 'released' || r.state === 'planned') {
      r.state = 'released';
      return;
    }
    r.state = 'released';
    delete r.bytes;
    this.held -= r.end - r.start;
    this.pump();
  }
}
