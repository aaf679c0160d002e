import type { MessagePort } from 'node:worker_threads';
import type { CompressionSettings } from '../codec/compress.js';
import type { ChunkerParams } from '../codec/chunker.js';
import type { CryptSecrets, IndexedBlob, SharedIdSet, StoreOptions } from '../repo/index.js';
import type { FileJob, FileResult } from './file-processor.js';

/** Messages between the archiver and its chunk workers. */
export interface WorkerInit {
  repoRoot: string;
  /** How the repository's store is opened (the packs a worker writes get the retention of backup.object_lock). */
  store: StoreOptions;
  chunkerSeed: string;
  /** Blob ids and sealing of an encrypted repository (in memory only). */
  secrets: CryptSecrets | undefined;
  chunker: ChunkerParams;
  compression: CompressionSettings;
  known: SharedIdSet;
  /** Where the worker sends its packs to be uploaded (a remote repository: startChunkWorker); absent, it writes them itself. */
  uploads?: MessagePort;
}

export type ToWorker =
  | { type: 'job'; jobId: number; files: FileJob[] }
  /** A streamed object (a database table's dump): opened, fed in batches, closed. */
  | { type: 'object-open'; objectId: number }
  | { type: 'object-data'; objectId: number; data: Uint8Array }
  | { type: 'object-close'; objectId: number }
  /** One whole file, its chunks committed in packs of their own (see WholeFilePool). */
  | { type: 'whole-file'; jobId: number; path: string }
  | { type: 'finish' }
  /** Drop the unfinished pack and stop (the archiver failed). */
  | { type: 'abort' };

export type FromWorker =
  | { type: 'result'; jobId: number; results: FileResult[]; blobs: IndexedBlob[]; storedBytes: number }
  /** An object-data batch was chunked: its bytes no longer count against the sender's window, and its buffer goes back for the next batch. */
  | { type: 'object-consumed'; bytes: number; buffer: ArrayBuffer }
  | { type: 'object-closed'; objectId: number; content: string[]; size: number; newBlobs: number; newBytes: number; blobs: IndexedBlob[] }
  | { type: 'whole-file-done'; jobId: number; stored?: WholeFileStored; failure?: { errno: string | undefined; name: string; message: string } }
  | { type: 'finished'; blobs: IndexedBlob[]; storedBytes: number; packs: number }
  | { type: 'aborted' }
  | { type: 'error'; errno: string | undefined; name: string; message: string };

/** A whole file stored by a chunk worker: its chunks, SHA-256, and the index entries of the packs (committed) that hold them. */
export interface WholeFileStored {
  content: string[];
  size: number;
  sha256: string;
  newBlobs: number;
  newBytes: number;
  blobs: IndexedBlob[];
}
