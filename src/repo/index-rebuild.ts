import type { FrameCompressor } from '../codec/compress.js';
import { isPrismError } from '../errors/index.js';
import type { IndexedBlob } from './blob-entry.js';
import { BlobIndex } from './blob-index.js';
import { loadDamagedCopies } from './damaged-blobs.js';
import { IndexDecodeError, decodeIndex } from './index-file.js';
import { replaceIndex } from './index-rewrite.js';
import { damagedName } from './layout.js';
import { checkPack, frameReadsBack, type PackDamage } from './pack-check.js';
import { decodeTrailer, trailerEntries, type PackTrailerFrame } from './pack-format.js';
import { backendOf, type Repository } from './repository.js';

/** A pack that is not what it was written as, and what the rebuild made of it. */
export interface RebuiltPack extends PackDamage {
  /** Blobs whose frame still reads back: copied into a new pack. */
  blobs_kept: number;
  /** Blobs its trailer or an index file named that could not be read back. */
  blobs_lost: number;
}

export interface IndexRebuild {
  /** Pack files read. */
  packs_read: number;
  /** Index files that could not be decoded (replaced by the new one). */
  damaged_index_files: Array<{ name: string; message: string }>;
  damaged_packs: RebuiltPack[];
  /** Packs an index file named that are not in the repository. */
  missing_packs: string[];
  /** Blobs named by an index file or a damaged pack's trailer that no intact copy holds. */
  lost_blobs: number;
  /** Blobs in the new index. */
  blobs: number;
  /** New packs holding the intact frames copied out of damaged packs. */
  packs_written: number;
  /** The new index file. */
  index: string;
}

/**
 * Rebuilds the index from the packs alone (the caller holds the exclusive lock): an intact pack
 * (its SHA-256 is its id) is indexed from its trailer. From a damaged pack, every frame that its
 * trailer or a readable index file places and that still reads back (decompresses, each blob
 * hashing to its id) is copied into a new pack; the damaged pack is then named by no index, and
 * the next prune deletes it. One new index file replaces all others (written under a temporary
 * name, flushed, renamed); what it lacks, the next backup stores afresh.
 */
export async function rebuildIndex(repo: Repository, compressor: FrameCompressor, signal?: AbortSignal): Promise<IndexRebuild> {
  const backend = backendOf(repo);
  const index = new BlobIndex();
  const damagedRecords = await loadDamagedCopies(backend);
  const damaged = new Map<string, PackDamage>();
  const packs = (await repo.listPacks()).filter((p) => /^[0-9a-f]{64}$/.test(p));
  for (const pack of packs) {
    signal?.throwIfAborted();
    const bytes = await repo.readPack(pack);
    const damage = checkPack(pack, bytes, repo.crypt);
    if (damage) {
      damaged.set(pack, damage);
      continue;
    }
    for (const b of trailerEntries(pack, decodeTrailer(bytes, repo.crypt).frames)) index.add(b);
  }

  // what the readable index files say about the damaged packs (and which packs they name that are gone)
  const report: IndexRebuild = {
    packs_read: packs.length,
    damaged_index_files: [],
    damaged_packs: [],
    missing_packs: [],
    lost_blobs: 0,
    blobs: 0,
    packs_written: 0,
    index: '',
  };
  const fromIndex = new Map<string, IndexedBlob[]>();
  const present = new Set(packs);
  const missing = new Map<string, Set<string>>();
  for (const { name } of await backend.list('index')) {
    try {
      decodeIndex(await backend.get(name), (b) => {
        if (damaged.has(b.pack)) (fromIndex.get(b.pack) ?? fromIndex.set(b.pack, []).get(b.pack)!).push(b);
        else if (!present.has(b.pack)) (missing.get(b.pack) ?? missing.set(b.pack, new Set()).get(b.pack)!).add(b.id);
      });
    } catch (e) {
      // damaged, or (encrypted repository) it does not open: SealedBackend says INDEX_DAMAGED
      if (!(e instanceof IndexDecodeError) && !(isPrismError(e) && e.code === 'INDEX_DAMAGED')) throw e;
      report.damaged_index_files.push({
        name,
        message: e instanceof IndexDecodeError ? e.message : 'it does not decrypt (damaged, or not written under this name)',
      });
    }
  }
  for (const [pack, ids] of missing) {
    report.missing_packs.push(pack);
    for (const id of ids) if (!index.hasHex(id)) report.lost_blobs++;
  }

  const writer = repo.packWriter(compressor);
  try {
    for (const [pack, damage] of damaged) {
      signal?.throwIfAborted();
      const bytes = await repo.readPack(pack);
      const frames = new Map<number, PackTrailerFrame>();
      const place = (f: PackTrailerFrame): void => {
        const known = frames.get(f.o);
        if (!known) frames.set(f.o, { ...f, b: [...f.b] });
        else if (known.l === f.l && known.r === f.r && known.c === f.c) for (const b of f.b) if (!known.b.some((k) => k[1] === b[1])) known.b.push(b);
      };
      try {
        for (const f of decodeTrailer(bytes, repo.crypt).frames) place(f);
      } catch {
        /* a damaged trailer: the index files still place the frames */
      }
      for (const b of fromIndex.get(pack) ?? [])
        place({ o: b.frameOffset, l: b.frameLength, r: b.frameRawLength, c: b.codec, b: [[b.type, b.id, b.blobOffset, b.blobLength]] });
      const rebuilt: RebuiltPack = { ...damage, blobs_kept: 0, blobs_lost: 0 };
      for (const f of [...frames.values()].sort((a, b) => a.o - b.o)) {
        const good = frameReadsBack(bytes, f, repo.crypt) ? f.b : f.b.filter((b) => frameReadsBack(bytes, { ...f, b: [b] }, repo.crypt));
        rebuilt.blobs_lost += f.b.filter((b) => !good.includes(b) && !index.hasHex(b[1])).length;
        const fresh = good.filter((b) => !index.hasHex(b[1]));
        if (fresh.length === 0) continue;
        writer.addFrame(repo.crypt.openFrame(bytes.subarray(f.o, f.o + f.l)), f.c, f.r, fresh);
        rebuilt.blobs_kept += fresh.length;
        await writer.maybeFlush();
        for (const b of writer.takeWritten()) index.add(b);
      }
      report.lost_blobs += rebuilt.blobs_lost;
      report.damaged_packs.push(rebuilt);
    }
    for (const b of await writer.finish()) index.add(b);
  } catch (e) {
    await writer.abort();
    throw e;
  }
  report.packs_written = writer.packsWritten;
  const entries = [...index.entries()];
  report.blobs = entries.length;
  report.index = await replaceIndex(repo, entries);
  // every copy indexed now was read back: records of damage are settled
  for (const [blob, inPacks] of damagedRecords) for (const pack of inPacks) await backend.delete(damagedName(blob, pack));
  return report;
}
