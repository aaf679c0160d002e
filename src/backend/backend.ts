/**
 * The storage contract: a flat namespace of immutable objects addressed by slash-separated
 * names ("data/ab/ab12…", "snapshots/backup_…json"), kept on a local disk, an object store
 * (S3, Azure Blob) or a remote server (SFTP). Every backend passes the one conformance suite
 * (conformance.ts).
 *
 * - Writes are atomic: an object is either absent or complete, never partial, whatever fails.
 * - Errors are StoreErrors (store-error.ts) of five kinds: not found, already exists,
 *   transient (worth retrying: 5xx, 429, resets, timeouts), protected (a delete or overwrite the
 *   store refuses because the object is under retention) and permanent. Any other error
 *   counts as permanent: a local disk's errno errors stay as they are, so the error registry
 *   can name the path and the fix (ENOSPC, EACCES …).
 * - Every call takes an AbortSignal: an aborted call rejects with the signal's reason and
 *   leaves no partial object behind.
 * - What only some stores have (free space on a local disk, retention on S3 with Object Lock) is
 *   a separate capability (`spaceOf`, `retainingOf` in retaining.ts), not part of the contract.
 */
export interface Backend {
  /** Where the objects live, for messages (a path or a URL without credentials). */
  readonly location: string;
  /** Writes atomically (replacing an existing object). Idempotent: may be retried. */
  put(name: string, data: Uint8Array | readonly Uint8Array[], opts?: CallOptions): Promise<void>;
  /**
   * Creates the object only if it does not exist yet (conditional create, atomic against other
   * hosts); false if it exists.
   */
  putIfAbsent(name: string, data: Uint8Array, opts?: CallOptions): Promise<boolean>;
  /**
   * The whole object. With `into`, it may be read into `into.buffer` (replaced by a larger one
   * when too small) and returned as a view of it, valid until the holder is used again: a
   * thread that reads pack after pack reuses one buffer instead of allocating 16 MiB for each.
   */
  get(name: string, opts?: ReadOptions): Promise<Buffer>;
  /** Exactly `length` bytes from `offset` (a shorter answer is an error, never returned). */
  getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer>;
  exists(name: string, opts?: CallOptions): Promise<boolean>;
  size(name: string, opts?: CallOptions): Promise<number>;
  /** Objects directly or recursively under a folder prefix ("index", "data"), with sizes, sorted by name. */
  list(prefix: string, opts?: CallOptions): Promise<ObjectInfo[]>;
  /**
   * A version of the folder `prefix` that changes whenever an object under it (directly) is added,
   * replaced or removed, and when it last changed; undefined where the store cannot tell (or no such folder).
   */
  folderVersion?(prefix: string): Promise<FolderVersion | undefined>;
  /** Removes an object; removing one that is absent is not an error. */
  delete(name: string, opts?: CallOptions): Promise<void>;
  /**
   * Starts an object whose name is known only at the end (content-addressed packs): bytes are
   * taken synchronously (the caller may reuse its buffer at once) and the object appears, whole,
   * under `name` only at commit.
   */
  openAtomic(prefixHint: string): AtomicWrite;
  /**
   * Removes unfinished writes under a folder (left by a crash or an aborted run). `all` (the
   * default) removes every one: only for a caller that holds the repository exclusively. `own`
   * removes this process's and those of processes on this host that are gone, and leaves those
   * another running process (a concurrent `pg archive-wal`) is still writing. Stores whose
   * writes cannot be left unfinished (a single PUT) have none and return 0.
   */
  removeUnfinished(prefix: string, scope?: UnfinishedScope): Promise<number>;
  /**
   * A range of an object just written through this backend that readers will ask for with `keep`
   * (a frame of directory trees): a local cache (metadata-cache.ts) keeps a copy, so the next
   * backup finds the trees without fetching them. Stores without a cache have no such method.
   */
  keepRange?(name: string, offset: number, bytes: Uint8Array): Promise<void>;
  /** Lets go of connections (SFTP sessions, sockets); the backend is not used afterwards. */
  close?(): Promise<void>;
}

export interface CallOptions {
  signal?: AbortSignal;
}

export interface ReadOptions extends CallOptions {
  into?: ReadBuffer;
  /** Read from the store itself, past any local copy (metadata-cache.ts): a copy that did not open. */
  fresh?: boolean;
  /** A range of a pack worth a local copy (a frame of directory trees, read by every backup): metadata-cache.ts keeps it. */
  keep?: boolean;
  /** A range its reader planned (a restore fetching what it needs pack by pack): read as asked, no read-ahead window around it. */
  planned?: boolean;
  /** The object as a listing just gave it: a local copy with the listed MD5 may answer (metadata-cache.ts). */
  listed?: ObjectInfo;
}

export interface FolderVersion {
  version: string;
  /** Milliseconds since the epoch by the store's clock: a change within the clock's granularity of it may not change `version` yet. */
  changedMs: number;
}

export interface ObjectInfo {
  name: string;
  size: number;
  /** Changes whenever the object is written again (local store: inode and mtime); absent where the store cannot tell. */
  version?: string;
  /**
   * The MD5 of the object's bytes (hex) as the store's listing tells it (S3's ETag of a single-part
   * upload, Azure's Content-MD5); absent where it does not. Only a hint: a store's ETag may be
   * something else that looks the same, so it serves to recognise a copy held locally, never to check a read.
   */
  md5?: string;
}

/** A buffer that reads reuse (see Backend.get). */
export interface ReadBuffer {
  buffer: Buffer;
}

export type UnfinishedScope = 'all' | 'own';

export interface AtomicWrite {
  write(data: Uint8Array): void;
  readonly bytes: number;
  commit(name: string, opts?: CallOptions): Promise<void>;
  abort(): Promise<void>;
}

/** Free and total bytes of the storage under a repository. */
export interface Space {
  free: number;
  total: number;
}

/** A capability of local disks only: how much room is left. */
export interface SpaceReporting {
  space(): Promise<Space | undefined>;
}

/**
 * Object lock as prism sets it (S3 Object Lock): every object it writes, but the locks, is kept
 * for `days` from its write, and maintenance extends that while a kept backup needs the object.
 * `compliance`: nobody can shorten or lift it, not even the account's root; `governance`:
 * credentials with s3:BypassGovernanceRetention can.
 */
export interface ObjectLock {
  mode: 'compliance' | 'governance';
  /** May be fractional (a test keeps objects for seconds). */
  days: number;
}

/** One version of an object, or a delete marker, in a store that keeps versions (an S3 bucket with Object Lock). */
export interface ObjectVersion {
  name: string;
  versionId: string;
  /** The version a plain read gets (for a delete marker: the object looks deleted). */
  latest: boolean;
  deleteMarker: boolean;
  size: number;
  modified: Date;
}

/**
 * A capability of stores that keep objects under retention (S3 with Object Lock), not part of the
 * contract. On such a store every write (but under `locks/`) carries the retention of
 * `objectLock`; `delete` removes every version of an object, and a version still under retention
 * is refused with a StoreError of kind `protected`, which says until when.
 */
export interface Retaining {
  readonly objectLock: ObjectLock;
  /** Moves the retain-until date of the object's current version to `until`; one that is already later stays. */
  extendRetention(name: string, until: Date, opts?: CallOptions): Promise<void>;
  /** The retain-until date of the object's current version; undefined when it has none. */
  retentionOf(name: string, opts?: CallOptions): Promise<Date | undefined>;
  /** Every version and delete marker under a folder prefix ('' for all), newest first per object. */
  listVersions(prefix: string, opts?: CallOptions): Promise<ObjectVersion[]>;
  /** Removes one version or delete marker (`protected` while the version is retained). */
  deleteVersion(name: string, versionId: string, opts?: CallOptions): Promise<void>;
}

/** A backend that wraps another (sealing, retries, fault injection). */
export interface Wrapping {
  readonly innerBackend: Backend;
}

/** The free space under a backend where its store can tell (local disks), through any wrappers. */
export async function spaceOf(backend: Backend): Promise<Space | undefined> {
  let b: Backend | undefined = backend;
  while (b) {
    if (typeof (b as Partial<SpaceReporting>).space === 'function') return (b as unknown as SpaceReporting).space();
    b = (b as Partial<Wrapping>).innerBackend;
  }
  return undefined;
}

/** The backend of `backend`'s chain (itself or one it wraps) that keeps ranges of packs written (a remote store's metadata cache). */
export function rangeKeeper(backend: Backend): Pick<Required<Backend>, 'keepRange'> | undefined {
  let b: Backend | undefined = backend;
  while (b) {
    if (typeof b.keepRange === 'function') return b as Pick<Required<Backend>, 'keepRange'>;
    b = (b as Partial<Wrapping>).innerBackend;
  }
  return undefined;
}

/** The names of a listing. */
export const namesOf = (infos: readonly ObjectInfo[]): string[] => infos.map((i) => i.name);
