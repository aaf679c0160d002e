import { Worker } from 'node:worker_threads';
import type { FilesOutcome } from './restore-types.js';
import type { TreeEntry } from './tree-walk.js';

export interface RestoreWorkerInit {
  repoRoot: string;
  dest: string;
  files: TreeEntry[];
  verify: boolean;
}

export type FromRestoreWorker = { type: 'file'; bytes: number } | { type: 'done'; outcome: FilesOutcome } | { type: 'error'; message: string; code?: string };

/** Restores `files` on a worker thread with its own repository reader. */
export function runRestoreWorker(repoRoot: string, dest: string, files: TreeEntry[], verify: boolean, onFile: (bytes: number) => void): Promise<FilesOutcome> {
  return new Promise((resolve, reject) => {
    const w = new Worker(new URL('./restore-worker.js', import.meta.url), { workerData: { repoRoot, dest, files, verify } satisfies RestoreWorkerInit });
    w.on('message', (m: FromRestoreWorker) => {
      if (m.type === 'file') onFile(m.bytes);
      else if (m.type === 'done') resolve(m.outcome);
      else reject(Object.assign(new Error(m.message), { code: m.code }));
    });
    w.on('error', reject);
    w.on('exit', (code) => reject(new Error(`restore worker exited with code ${code}`)));
  });
}
