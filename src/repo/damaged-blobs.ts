import type { Backend } from '../backend/backend.js';
import type { BlobLocation } from './blob-entry.js';
import { damagedName } from './layout.js';
import { isRetained } from '../errors/index.js';

/** A copy of a blob found damaged (a pack location), as recorded under `damaged/`. */
export interface DamagedCopy {
  blob: string;
  pack: string;
  /** Why it was found damaged. */
  reason: string;
  found_at: string;
}

const NAME = /^damaged\/([0-9a-f]{64})\.([0-9a-f]{64})\.json$/;

/** blob id → packs holding a damaged copy of it. Every process reads these with the index. */
export async function loadDamagedCopies(backend: Backend): Promise<Map<string, Set<string>>> {
  const out = new Map<string, Set<string>>();
  for (const { name } of await backend.list('damaged')) {
    const m = NAME.exec(name);
    if (!m) continue;
    let packs = out.get(m[1]!);
    if (!packs) out.set(m[1]!, (packs = new Set()));
    packs.add(m[2]!);
  }
  return out;
}

/**
 * Records damaged copies so that no later index load finds them: the next backup stores the blob
 * afresh instead of pointing at the damaged copy. Written under any lock (a file per copy, create
 * if absent); the next index rewrite under the exclusive lock leaves the copies out and removes
 * these records.
 */
export async function recordDamagedCopies(
  backend: Backend,
  copies: ReadonlyArray<{ id: string; loc: Pick<BlobLocation, 'pack'>; reason: string }>,
  now: Date,
): Promise<void> {
  for (const c of copies) {
    const record: DamagedCopy = { blob: c.id, pack: c.loc.pack, reason: c.reason, found_at: now.toISOString() };
    await backend.putIfAbsent(damagedName(c.id, c.loc.pack), Buffer.from(JSON.stringify(record) + '\n'));
  }
}

/** Removes the records of damaged copies that `indexed` (the blobs of the only index file) no longer holds. */
export async function removeSettledDamage(backend: Backend, indexed: readonly Pick<BlobLocation & { id: string }, 'id' | 'pack'>[]): Promise<void> {
  const records = await loadDamagedCopies(backend);
  if (records.size === 0) return;
  const kept = new Set<string>();
  for (const b of indexed) if (records.get(b.id)?.has(b.pack)) kept.add(damagedName(b.id, b.pack));
  for (const [blob, packs] of records) {
    for (const pack of packs) {
      if (kept.has(damagedName(blob, pack))) continue;
      // a record under retention (object lock) stays until a later run: it names a copy no index holds
      await backend.delete(damagedName(blob, pack)).catch((e: unknown) => {
        if (!isRetained(e)) throw e;
      });
    }
  }
}
