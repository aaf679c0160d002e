import { decompress, type FrameCompressor } from '../codec/compress.js';
import { PrismError } from '../errors/index.js';
import type { IndexedBlob } from './blob-entry.js';
import { backendOf, type Repository } from './repository.js';
import { decodeIndex } from './index-file.js';
import { packIdOf, packName } from './layout.js';
import { replaceIndex } from './index-rewrite.js';
import type { ObjectRetention } from './object-retention.js';

export interface PrunePlan {
  packs: number;
  /** Packs no backup uses: deleted. */
  unusedPacks: string[];
  /** Packs whose used blobs are copied into new packs (then deleted) to bring the unused data left within the allowance. */
  repackPacks: string[];
  /** Files under data/ that no index names (left by a crashed run), as their paths: deleted. */
  orphanPacks: string[];
  /** Under object lock: unused and orphan packs (paths) whose retention has not passed: left for a later prune. */
  retainedPacks: string[];
  retainedBytes: number;
  unusedBytes: number;
  freedBytes: number;
  repackBytes: number;
  keptUnusedBytes: number;
}

export interface PruneResult extends PrunePlan {
  newPacks: number;
  indexFiles: number;
}

interface PackUse {
  size: number;
  /** Stored bytes of the frames (the pack less its header and trailer). */
  frameBytes: number;
  /** Per frame: stored length, and whether every blob the index lists in it is referenced. */
  frames: Map<number, { length: number; allUsed: boolean; anyUsed: boolean }>;
  usedBytes: number;
}

/**
 * Works out what prune would do: which packs hold nothing a backup references, and which to
 * repack so that the unused data left is at most `maxUnused` of the used data (restic's rule).
 * Under object lock (`retention`), a pack whose retention has not passed can be neither deleted
 * nor repacked (its copy would only add data): it is left for a later prune.
 */
export async function planPrune(repo: Repository, referenced: ReadonlySet<string>, maxUnused: number, retention?: ObjectRetention): Promise<PrunePlan> {
  const index = await repo.loadIndex();
  const sizes = new Map<string, number>();
  const orphans: Array<[string, number]> = [];
  const backend = backendOf(repo);
  for (const { name: path, size } of await backend.list('data')) {
    const name = packIdOf(path);
    // a pack lives at data/<first two hex digits>/<id>; anything else there is not a pack of ours
    if (path === packName(name) && !sizes.has(name)) sizes.set(name, size);
    else orphans.push([path, size]);
  }
  const use = new Map<string, PackUse>();
  for (const b of index.entries()) {
    let u = use.get(b.pack);
    if (!u) use.set(b.pack, (u = { size: sizes.get(b.pack) ?? 0, frameBytes: 0, frames: new Map(), usedBytes: 0 }));
    let f = u.frames.get(b.frameOffset);
    if (!f) {
      u.frames.set(b.frameOffset, (f = { length: b.frameLength, allUsed: true, anyUsed: false }));
      u.frameBytes += b.frameLength;
    }
    if (referenced.has(b.id)) f.anyUsed = true;
    else f.allUsed = false;
  }
  // A frame whose listed blobs are all referenced is wholly used, whatever else its bytes hold
  // (a frame copied by an earlier prune keeps bytes of blobs it no longer lists): repacking it
  // would copy it unchanged. In other frames the used share is proportional to the blobs.
  for (const b of index.entries()) {
    const u = use.get(b.pack)!;
    const f = u.frames.get(b.frameOffset)!;
    if (f.allUsed) continue;
    if (referenced.has(b.id)) u.usedBytes += b.frameRawLength ? (b.frameLength * b.blobLength) / b.frameRawLength : 0;
  }
  for (const u of use.values()) for (const f of u.frames.values()) if (f.allUsed && f.anyUsed) u.usedBytes += f.length;
  const plan: PrunePlan = {
    packs: use.size,
    unusedPacks: [],
    repackPacks: [],
    orphanPacks: [],
    retainedPacks: [],
    retainedBytes: 0,
    unusedBytes: 0,
    freedBytes: 0,
    repackBytes: 0,
    keptUnusedBytes: 0,
  };
  for (const [pack, size] of sizes) if (!use.has(pack)) orphans.push([packName(pack), size]);
  const held = (path: string, size: number): boolean => {
    if (!retention?.heldUntil(path)) return false;
    plan.retainedPacks.push(path);
    plan.retainedBytes += size;
    return true;
  };
  for (const [path, size] of orphans) {
    if (held(path, size)) continue;
    plan.orphanPacks.push(path);
    plan.freedBytes += size;
  }
  const candidates: Array<{ pack: string; unused: number; used: number; share: number }> = [];
  let usedTotal = 0;
  for (const [pack, u] of use) {
    // shares of shared frames are fractions: a few bytes of rounding are not unused data
    const raw = u.frameBytes - u.usedBytes;
    const unused = raw < 64 ? 0 : Math.round(raw);
    plan.unusedBytes += unused;
    usedTotal += u.usedBytes;
    if (u.usedBytes === 0) {
      if (held(packName(pack), u.size)) continue;
      plan.unusedPacks.push(pack);
      plan.freedBytes += u.size;
    } else if (unused > 0 && !retention?.heldUntil(packName(pack))) candidates.push({ pack, unused, used: u.usedBytes, share: unused / u.frameBytes });
    else if (unused > 0) plan.keptUnusedBytes += unused;
  }
  // As restic's --max-unused: the unused data left in the repository may be up to `maxUnused` of
  // the used data. Packs with the largest unused share are repacked first (least copying per byte
  // freed) until what is left is within that allowance.
  const allowed = maxUnused * usedTotal;
  let left = candidates.reduce((sum, c) => sum + c.unused, 0);
  candidates.sort((a, b) => b.share - a.share || (a.pack < b.pack ? -1 : 1));
  for (const c of candidates) {
    if (left > allowed) {
      plan.repackPacks.push(c.pack);
      plan.repackBytes += c.used;
      plan.freedBytes += c.unused;
      left -= c.unused;
    } else plan.keptUnusedBytes += c.unused;
  }
  return plan;
}

/**
 * Carries out a prune plan under an exclusive lock, in an order that is safe to kill at any
 * point and frees space before it needs any:
 *   1. a new index with only the referenced blobs outside unused packs; the old index files go;
 *   2. unused and orphan packs are deleted (nothing indexes them any more);
 *   3. used blobs of mostly-unused packs are copied into new packs; a final index points at the
 *      copies; the old index file and then the old packs go.
 * A killed run leaves either the old index (all packs still there) or a new one, plus at worst
 * packs nothing indexes, which the next prune deletes as orphans.
 *
 * Under object lock (`retention`) an index file, once written, stays for the whole period: so
 * the copies are made first and one index is written (a kill leaves the old index and copies
 * nothing indexes: orphans); deletes go through `retention`, which leaves what is still retained;
 * and a pack that an index file left so still names stays too (a backup could take its blobs
 * from that file), until a later prune finds the file gone.
 */
export async function executePrune(
  repo: Repository,
  referenced: ReadonlySet<string>,
  plan: PrunePlan,
  compressor: FrameCompressor,
  retention?: ObjectRetention,
): Promise<PruneResult> {
  const index = await repo.loadIndex();
  const unused = new Set(plan.unusedPacks);
  const repack = new Set(plan.repackPacks);
  const survivors: IndexedBlob[] = [];
  for (const b of index.entries()) if (referenced.has(b.id) && !unused.has(b.pack)) survivors.push(b);
  const backend = backendOf(repo);
  if (retention) return pruneRetained(repo, plan, survivors, compressor, retention, index.size);
  let current = await replaceIndex(repo, survivors);
  for (const p of plan.unusedPacks) await backend.delete(packName(p));
  for (const path of plan.orphanPacks) await backend.delete(path);
  for (const dir of ['data', 'snapshots', 'locks']) await backend.removeUnfinished(dir);
  let newPacks = 0;
  if (repack.size > 0) {
    const copies = await copyUsedBlobs(repo, repack, survivors, compressor);
    newPacks = copies.packs;
    const final = [...survivors.filter((b) => !repack.has(b.pack)), ...copies.blobs];
    current = await replaceIndex(repo, final);
    // a copy can come out byte for byte the same as its source, and so under the same name:
    // never delete a pack the new index names
    const written = new Set(copies.blobs.map((b) => b.pack));
    for (const p of plan.repackPacks) if (!written.has(p)) await backend.delete(packName(p));
  }
  return { ...plan, newPacks, indexFiles: current ? 1 : 0 };
}

/** executePrune under object lock: copies first, one index, deletes that leave what is retained. */
async function pruneRetained(
  repo: Repository,
  plan: PrunePlan,
  survivors: IndexedBlob[],
  compressor: FrameCompressor,
  retention: ObjectRetention,
  indexed: number,
): Promise<PruneResult> {
  const backend = backendOf(repo);
  const repack = new Set(plan.repackPacks);
  const indexFiles = (await backend.list('index')).map((o) => o.name);
  // nothing to remove: a new index file would only add one more under retention
  const nothing = repack.size === 0 && survivors.length === indexed && plan.unusedPacks.length === 0 && plan.orphanPacks.length === 0;
  if (nothing && indexFiles.every((f) => retention.heldUntil(f))) {
    // only orphans the estimate holds (nothing indexes them): the ones the store lets go, go
    let freed = 0;
    for (const path of plan.retainedPacks) if (await retention.delete(path)) freed += retention.sizeOf(path);
    return { ...plan, freedBytes: freed, newPacks: 0, indexFiles: indexFiles.length };
  }
  const copies = repack.size > 0 ? await copyUsedBlobs(repo, repack, survivors, compressor) : { blobs: [], packs: 0 };
  await replaceIndex(repo, [...survivors.filter((b) => !repack.has(b.pack)), ...copies.blobs], retention);
  const pinned = await packsNamedBy(repo, retention);
  const written = new Set(copies.blobs.map((b) => b.pack));
  let freed = 0;
  const remove = async (path: string): Promise<void> => {
    const pack = packIdOf(path);
    if (written.has(pack)) return;
    const byIndex = pinned.get(pack);
    if (pinned.has(pack)) retention.leave(path, byIndex === undefined ? undefined : Math.max(byIndex, retention.heldUntil(path)?.getTime() ?? 0));
    else if (await retention.delete(path)) freed += retention.sizeOf(path);
  };
  for (const p of plan.unusedPacks) await remove(packName(p));
  for (const path of plan.orphanPacks) await remove(path);
  // those the estimate holds: the store may know an earlier date
  for (const path of plan.retainedPacks) await remove(path);
  for (const p of plan.repackPacks) await remove(packName(p));
  for (const dir of ['data', 'snapshots', 'locks']) await backend.removeUnfinished(dir);
  // what was deleted now: the rest waits for its retention (the report's retention part says until when)
  return { ...plan, freedBytes: freed, newPacks: copies.packs, indexFiles: (await backend.list('index')).length };
}

/** The packs that the index files prune left (retained) name, each with the latest date one of those files can go. */
async function packsNamedBy(repo: Repository, retention: ObjectRetention): Promise<Map<string, number | undefined>> {
  const backend = backendOf(repo);
  const out = new Map<string, number | undefined>();
  for (const f of retention.leftUnder('index/')) {
    const until = retention.leftUntil(f);
    decodeIndex(await backend.get(f), (b) => {
      const had = out.get(b.pack);
      out.set(b.pack, until === undefined || (out.has(b.pack) && had === undefined) ? undefined : Math.max(had ?? 0, until));
    });
  }
  return out;
}

/**
 * Copies the used blobs of the packs in `repack` into new packs: frames whose blobs are all still
 * used are copied as stored (checked, not recompressed). The copies' index entries and the number
 * of packs written.
 */
async function copyUsedBlobs(
  repo: Repository,
  repack: ReadonlySet<string>,
  survivors: readonly IndexedBlob[],
  compressor: FrameCompressor,
): Promise<{ blobs: IndexedBlob[]; packs: number }> {
  const index = await repo.loadIndex();
  const backend = backendOf(repo);
  const writer = repo.packWriter(compressor);
  const copied: IndexedBlob[] = [];
  const blobsInFrame = new Map<string, number>();
  for (const b of index.entries()) if (repack.has(b.pack)) blobsInFrame.set(frameKey(b), (blobsInFrame.get(frameKey(b)) ?? 0) + 1);
  const usedInFrame = new Map<string, IndexedBlob[]>();
  for (const b of survivors) if (repack.has(b.pack)) usedInFrame.set(frameKey(b), [...(usedInFrame.get(frameKey(b)) ?? []), b]);
  for (const [key, used] of usedInFrame) {
    const f = used[0]!;
    if (used.length === blobsInFrame.get(key)) {
      const stored = repo.crypt.openFrame(await backend.getRange(packName(f.pack), f.frameOffset, f.frameLength));
      const plain = decompress(f.codec, stored, f.frameRawLength);
      for (const b of used) {
        if (!repo.crypt.isBlob(plain.subarray(b.blobOffset, b.blobOffset + b.blobLength), b.id)) {
          throw new PrismError(
            'CHECKSUM_MISMATCH',
            `Prune stopped: chunk ${b.id.slice(0, 12)} in pack ${b.pack.slice(0, 12)} is damaged; nothing was lost. Run \`prism backup verify --all\`.`,
            { blob: b.id },
          );
        }
      }
      writer.addFrame(
        stored,
        f.codec,
        f.frameRawLength,
        used.map((b) => [b.type, b.id, b.blobOffset, b.blobLength]),
      );
    } else {
      for (const b of used) writer.add(b.type, b.id, await repo.readBlob(b.id));
    }
    await writer.maybeFlush();
    copied.push(...writer.takeWritten());
  }
  copied.push(...(await writer.finish()));
  return { blobs: copied, packs: writer.packsWritten };
}

function frameKey(b: IndexedBlob): string {
  return `${b.pack}:${b.frameOffset}`;
}
