import type { BlobLocation, BlobType, IndexedBlob } from './blob-entry.js';

const ID = 32;
const FIELDS = 8; // pack, codec|type, frameOffset, frameLength, frameRawLength, blobOffset, blobLength, spare

/**
 * In-memory index of every blob: a flat open-addressing hash table over typed arrays
 * (~60 bytes per blob, no per-entry objects), keyed by the binary SHA-256.
 */
export class BlobIndex {
  private ids: Uint8Array<ArrayBufferLike> = new Uint8Array(1024 * ID);
  private fields: Uint32Array<ArrayBufferLike> = new Uint32Array(1024 * FIELDS);
  private slots: Int32Array<ArrayBufferLike> = new Int32Array(2048);
  private count = 0;
  private readonly packs: string[] = [];
  private readonly packNumbers = new Map<string, number>();
  /** Whether the arrays are another thread's shared memory (copied before the first add). */
  private shared = false;

  get size(): number {
    return this.count;
  }

  get packCount(): number {
    return this.packs.length;
  }

  /** Every pack some entry names. */
  packNames(): readonly string[] {
    return this.packs;
  }

  has(id: Uint8Array): boolean {
    return this.find(id) >= 0;
  }

  hasHex(idHex: string): boolean {
    return this.has(Buffer.from(idHex, 'hex'));
  }

  get(idHex: string): IndexedBlob | undefined {
    const e = this.find(Buffer.from(idHex, 'hex'));
    return e < 0 ? undefined : this.entryAt(e, idHex);
  }

  /** Adds a blob; a blob already present keeps its first location. */
  add(blob: IndexedBlob): void {
    const id = Buffer.from(blob.id, 'hex');
    if (id.length !== ID) throw new Error(`bad blob id ${blob.id}`);
    if (this.find(id) >= 0) return;
    if (this.shared) this.unshare();
    if ((this.count + 1) * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    if (this.count * ID >= this.ids.length) this.growEntries();
    const e = this.count++;
    this.ids.set(id, e * ID);
    const f = e * FIELDS;
    this.fields[f] = this.packNumber(blob.pack);
    this.fields[f + 1] = (blob.codec << 8) | blob.type;
    this.fields[f + 2] = blob.frameOffset;
    this.fields[f + 3] = blob.frameLength;
    this.fields[f + 4] = blob.frameRawLength;
    this.fields[f + 5] = blob.blobOffset;
    this.fields[f + 6] = blob.blobLength;
    this.insertSlot(e);
  }

  *entries(): IterableIterator<IndexedBlob> {
    for (let e = 0; e < this.count; e++) {
      yield this.entryAt(e, Buffer.from(this.ids.subarray(e * ID, e * ID + ID)).toString('hex'));
    }
  }

  /**
   * A copy of the whole index in shared memory, for worker threads that read blobs (a restore's):
   * they look locations up in it (BlobIndex.fromShared) instead of loading every index file again.
   */
  exportShared(): SharedBlobIndex {
    const share = (a: Uint8Array | Uint32Array | Int32Array, length: number): SharedArrayBuffer => {
      const sab = new SharedArrayBuffer(Math.max(length * a.BYTES_PER_ELEMENT, 4));
      new Uint8Array(sab).set(new Uint8Array(a.buffer, a.byteOffset, length * a.BYTES_PER_ELEMENT));
      return sab;
    };
    return {
      ids: share(this.ids, this.count * ID),
      fields: share(this.fields, this.count * FIELDS),
      slots: share(this.slots, this.slots.length),
      count: this.count,
      packs: [...this.packs],
    };
  }

  /** An index over a SharedBlobIndex (see exportShared); blobs added to it stay in this thread. */
  static fromShared(shared: SharedBlobIndex): BlobIndex {
    const index = new BlobIndex();
    index.ids = new Uint8Array(shared.ids);
    index.fields = new Uint32Array(shared.fields);
    index.slots = new Int32Array(shared.slots);
    index.count = shared.count;
    for (const pack of shared.packs) index.packNumber(pack);
    index.shared = true;
    return index;
  }

  /** A read-only copy of the id set in shared memory, for worker threads. */
  exportIdSet(): SharedIdSet {
    const ids = new SharedArrayBuffer(Math.max(this.count * ID, 1));
    new Uint8Array(ids).set(this.ids.subarray(0, this.count * ID));
    const slots = new SharedArrayBuffer(this.slots.byteLength);
    new Int32Array(slots).set(this.slots);
    return { ids, slots };
  }

  private entryAt(e: number, id: string): IndexedBlob {
    const f = e * FIELDS;
    const loc: BlobLocation = {
      pack: this.packs[this.fields[f]!]!,
      type: (this.fields[f + 1]! & 0xff) as BlobType,
      codec: this.fields[f + 1]! >>> 8,
      frameOffset: this.fields[f + 2]!,
      frameLength: this.fields[f + 3]!,
      frameRawLength: this.fields[f + 4]!,
      blobOffset: this.fields[f + 5]!,
      blobLength: this.fields[f + 6]!,
    };
    return { id, ...loc };
  }

  private packNumber(pack: string): number {
    let n = this.packNumbers.get(pack);
    if (n === undefined) {
      n = this.packs.length;
      this.packs.push(pack);
      this.packNumbers.set(pack, n);
    }
    return n;
  }

  private find(id: Uint8Array): number {
    return findSlot(this.slots, this.ids, id);
  }

  private insertSlot(e: number): void {
    const mask = this.slots.length - 1;
    let s = readU32(this.ids, e * ID) & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = e + 1;
  }

  private rehash(capacity: number): void {
    this.slots = new Int32Array(capacity);
    for (let e = 0; e < this.count; e++) this.insertSlot(e);
  }

  private unshare(): void {
    this.ids = this.ids.slice();
    this.fields = this.fields.slice();
    this.slots = this.slots.slice();
    this.shared = false;
  }

  private growEntries(): void {
    const ids = new Uint8Array(this.ids.length * 2);
    ids.set(this.ids);
    this.ids = ids;
    const fields = new Uint32Array(this.fields.length * 2);
    fields.set(this.fields);
    this.fields = fields;
  }
}

/** A whole BlobIndex in shared memory (see BlobIndex.exportShared). */
export interface SharedBlobIndex {
  readonly ids: SharedArrayBuffer;
  readonly fields: SharedArrayBuffer;
  readonly slots: SharedArrayBuffer;
  readonly count: number;
  readonly packs: readonly string[];
}

/** The id set of a BlobIndex in shared memory. */
export interface SharedIdSet {
  readonly ids: SharedArrayBuffer;
  readonly slots: SharedArrayBuffer;
}

/** Membership test over a SharedIdSet, usable in any thread. */
export class IdSetView {
  private readonly ids: Uint8Array;
  private readonly slots: Int32Array;

  constructor(set: SharedIdSet) {
    this.ids = new Uint8Array(set.ids);
    this.slots = new Int32Array(set.slots);
  }

  has(id: Uint8Array): boolean {
    return findSlot(this.slots, this.ids, id) >= 0;
  }
}

function readU32(buf: Uint8Array, at: number): number {
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

function findSlot(slots: Int32Array, ids: Uint8Array, id: Uint8Array): number {
  const mask = slots.length - 1;
  let s = readU32(id, 0) & mask;
  for (;;) {
    const v = slots[s]!;
    if (v === 0) return -1;
    const e = v - 1;
    if (sameId(ids, e * ID, id)) return e;
    s = (s + 1) & mask;
  }
}

function sameId(ids: Uint8Array, at: number, id: Uint8Array): boolean {
  for (let i = 0; i < ID; i++) if (ids[at + i] !== id[i]) return false;
  return true;
}
