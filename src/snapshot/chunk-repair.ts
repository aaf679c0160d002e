import { lstatSync } from 'node:fs';
import { Chunker, gearTable } from '../codec/chunker.js';
import { fsPath } from '../core/byte-names.js';
import { FrameCompressor, type CompressionSettings } from '../codec/compress.js';
import type { IndexedBlob, Repository } from '../repo/index.js';
import { chunkerParams } from './archiver.js';
import { FileProcessor } from './file-processor.js';

export interface ChunkSource {
  /** Path in the backup (for reports). */
  path: string;
  /** The live file that may still hold the content. */
  file: string;
}

export interface ChunkRepairResult {
  /** Index entries of the fresh copies (in new packs, committed; not yet indexed). */
  blobs: IndexedBlob[];
  /** Repaired chunk id → the backup path its content was read from. */
  found: Map<string, string>;
  packsWritten: number;
  /** Live files that could not be read (or are no longer regular files). */
  unreadable: Array<{ path: string; message: string }>;
}

/**
 * Re-reads live files the way a backup does (same chunker) and stores a fresh copy of every
 * chunk in `wanted` whose content one of them still holds: a chunk hashing to its id is the
 * content, whatever else in the file changed. Nothing else is written.
 */
export async function storeChunksFromSources(
  repo: Repository,
  sources: readonly ChunkSource[],
  wanted: ReadonlySet<string>,
  compression: CompressionSettings,
): Promise<ChunkRepairResult> {
  const writer = repo.packWriter(new FrameCompressor(compression));
  const result: ChunkRepairResult = { blobs: [], found: new Map(), packsWritten: 0, unreadable: [] };
  // the processor stores what it does not "know": exactly the wanted chunks not found yet
  const known = { has: (id: Uint8Array) => !wanted.has(Buffer.from(id).toString('hex')) || result.found.has(Buffer.from(id).toString('hex')) };
  const processor = new FileProcessor(new Chunker(gearTable(repo.chunkerSeed), chunkerParams(repo)), writer, known);
  try {
    for (const s of sources) {
      let size: number;
      try {
        const st = lstatSync(fsPath(s.file));
        if (!st.isFile()) {
          result.unreadable.push({ path: s.path, message: 'no longer a regular file' });
          continue;
        }
        size = st.size;
      } catch (e) {
        result.unreadable.push({ path: s.path, message: (e as Error).message });
        continue;
      }
      const r = await processor.process({ path: s.file, size });
      if (!r.ok) {
        result.unreadable.push({ path: s.path, message: r.message });
        continue;
      }
      for (const id of r.content) if (wanted.has(id) && !result.found.has(id)) result.found.set(id, s.path);
    }
    result.blobs = await writer.finish();
  } catch (e) {
    await writer.abort();
    throw e;
  }
  result.packsWritten = writer.packsWritten;
  return result;
}

/** Trees below `roots` that cannot be read (missing, damaged or undecodable); what lies below them is not visited. */
export async function unreadableTrees(repo: Repository, roots: readonly string[]): Promise<Set<string>> {
  const seen = new Set<string>();
  const bad = new Set<string>();
  const visit = async (id: string): Promise<void> => {
    if (seen.has(id)) return;
    seen.add(id);
    let nodes;
    try {
      nodes = (await repo.readTree(id)).nodes;
    } catch {
      bad.add(id);
      return;
    }
    for (const n of nodes) if (n.type === 'dir' && typeof n.subtree === 'string') await visit(n.subtree);
  };
  for (const r of roots) await visit(r);
  return bad;
}
