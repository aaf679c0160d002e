import { spaceOf, type Backend, type Space } from '../backend/backend.js';
import { LocalBackend } from '../backend/local-backend.js';

/** The storage at a repository location: the one place that picks the backend (a local directory). */
export function openBackend(location: string): Backend {
  return new LocalBackend(location);
}

/** Bytes of every object stored at `location` (0 while there is none). */
export async function repositoryBytes(location: string): Promise<number> {
  const backend = openBackend(location);
  try {
    return (await backend.list('')).reduce((sum, o) => sum + o.size, 0);
  } finally {
    await backend.close?.();
  }
}

/** Bytes free and in total on the storage at `location`, where its store can tell (the repository need not exist yet). */
export function storageSpace(location: string): Promise<Space | undefined> {
  return spaceOf(openBackend(location));
}
