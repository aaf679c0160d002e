import type { CompressionSettings } from '../codec/compress.js';
import type { ChunkerParams } from '../codec/chunker.js';
import type { IndexedBlob, SharedIdSet } from '../repo/index.js';
import type { FileJob, FileResult } from './file-processor.js';

/** Messages between the archiver and its chunk workers. */
export interface WorkerInit {
  repoRoot: string;
  chunkerSeed: string;
  chunker: ChunkerParams;
  compression: CompressionSettings;
  known: SharedIdSet;
}

export type ToWorker = { type: 'job'; jobId: number; files: FileJob[] } | { type: 'finish' };

export type FromWorker =
  | { type: 'result'; jobId: number; results: FileResult[]; blobs: IndexedBlob[]; storedBytes: number }
  | { type: 'finished'; blobs: IndexedBlob[]; storedBytes: number; packs: number }
  | { type: 'error'; errno: string | undefined; name: string; message: string };
