import { sha256Hex } from '../codec/hash.js';
import type { IndexedBlob } from './blob-entry.js';
import { removeSettledDamage } from './damaged-blobs.js';
import { encodeIndex } from './index-file.js';
import { indexName } from './layout.js';
import type { ObjectRetention } from './object-retention.js';
import { backendOf, type Repository } from './repository.js';

/**
 * Writes one index file with `blobs` (the first entry of an id wins), then deletes every other
 * index file. The caller holds the exclusive lock. Killed between the two steps, the repository
 * has both the new and the old files: still every blob indexed. Records of damaged copies the new
 * file leaves out are removed last. Returns the new file's name. Under object lock (`retention`)
 * an old file whose retention holds stays, as after a kill: `retention` says which.
 */
export async function replaceIndex(repo: Repository, blobs: readonly IndexedBlob[], retention?: ObjectRetention): Promise<string> {
  const backend = backendOf(repo);
  const seen = new Set<string>();
  const unique = blobs.filter((b) => !seen.has(b.id) && seen.add(b.id));
  const buf = encodeIndex(unique);
  const name = indexName(sha256Hex(buf));
  await backend.put(name, buf);
  for (const { name: other, size } of await backend.list('index')) {
    if (other === name) continue;
    if (retention) await retention.delete(other, size);
    else await backend.delete(other);
  }
  await backend.removeUnfinished('index');
  await removeSettledDamage(backend, unique);
  return name;
}

/**
 * Rewrites the index so that each blob in `replacements` is found at its new location (a repaired
 * copy in a new pack) and the blobs in `drop` (damaged copies nothing can repair) are no longer
 * known, so the next backup stores them afresh. Every other entry is kept as it is. The caller
 * holds the exclusive lock; the in-memory index of `repo` is stale afterwards (open it again).
 */
export async function supersedeBlobs(repo: Repository, replacements: readonly IndexedBlob[], drop: ReadonlySet<string>): Promise<string> {
  const index = await repo.loadIndex();
  const byId = new Map(replacements.map((b) => [b.id, b]));
  const out: IndexedBlob[] = [...replacements];
  for (const b of index.entries()) if (!byId.has(b.id) && !drop.has(b.id)) out.push(b);
  return replaceIndex(repo, out);
}
