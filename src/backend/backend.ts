/**
 * The storage contract: a flat namespace of immutable objects addressed by slash-separated
 * names ("data/ab/ab12…", "snapshots/backup_…json"). Writes are atomic: an object is either
 * absent or complete.
 */
export interface Backend {
  /** Where the objects live, for messages. */
  readonly location: string;
  /** Writes atomically (replacing an existing object). */
  put(name: string, data: Uint8Array | readonly Uint8Array[]): Promise<void>;
  /** Creates the object only if it does not exist yet; false if it does. */
  putIfAbsent(name: string, data: Uint8Array): Promise<boolean>;
  /**
   * With `into`, the object may be read into `into.buffer` (replaced by a larger one when too
   * small) and returned as a view of it, valid until the holder is used again: a thread that reads
   * pack after pack reuses one buffer instead of allocating 16 MiB for each.
   */
  get(name: string, into?: ReadBuffer): Promise<Buffer>;
  /** `length` bytes from `offset` (with `into`: possibly in that reused buffer, as `get`). */
  getRange(name: string, offset: number, length: number, into?: ReadBuffer): Promise<Buffer>;
  exists(name: string): Promise<boolean>;
  size(name: string): Promise<number>;
  /** Names directly or recursively under a folder prefix ("index", "data"), sorted. */
  list(prefix: string): Promise<string[]>;
  delete(name: string): Promise<void>;
  /**
   * Starts an object whose name is known only at the end (content-addressed packs): bytes are
   * taken synchronously (the caller may reuse its buffer at once) and the object appears, whole,
   * under `name` only at commit.
   */
  openAtomic(prefixHint: string): AtomicWrite;
  /**
   * Removes unfinished atomic writes under a folder (left by a crash or an aborted run). `all`
   * (the default) removes every one: only for a caller that holds the repository exclusively.
   * `own` removes this process's and those of processes on this host that are gone, and leaves
   * those another running process (a concurrent `pg archive-wal`) is still writing.
   */
  removeUnfinished(prefix: string, scope?: UnfinishedScope): Promise<number>;
  /** Bytes free and in total on the storage, where known. */
  space(): Promise<{ free: number; total: number } | undefined>;
}

/** A buffer that reads reuse (see Backend.get). */
export interface ReadBuffer {
  buffer: Buffer;
}

export type UnfinishedScope = 'all' | 'own';

export interface AtomicWrite {
  write(data: Uint8Array): void;
  readonly bytes: number;
  commit(name: string): Promise<void>;
  abort(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  constructor(readonly objectName: string) {
    super(`object not found: ${objectName}`);
    this.name = 'ObjectNotFoundError';
  }
}
