import type { Backend } from '../backend/backend.js';
import { LocalBackend } from '../backend/local-backend.js';

/** The storage at a repository location: the one place that picks the backend (a local directory). */
export function openBackend(location: string): Backend {
  return new LocalBackend(location);
}

/** Bytes free and in total on the storage at `location`, where known (the repository need not exist yet). */
export function storageSpace(location: string): Promise<{ free: number; total: number } | undefined> {
  return openBackend(location).space();
}
