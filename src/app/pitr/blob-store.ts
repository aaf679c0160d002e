import { createHash } from 'node:crypto';
import { Chunker, gearTable } from '../../codec/chunker.js';
import { FrameCompressor, type CompressionSettings } from '../../codec/compress.js';
import { PrismError } from '../../errors/index.js';
import type { Repository } from '../../repo/index.js';
import { storeChunks, type ChunkAcc } from '../../snapshot/file-processor.js';

export interface StoredStream {
  /** Chunk ids in order (as a file's content in a tree). */
  content: string[];
  size: number;
  sha256: string;
  newBlobs: number;
  newBytes: number;
}

const BLOCK = 8 * 1024 * 1024;

/**
 * Stores a byte stream as content-defined chunks in the repository's packs and index (the same
 * chunker, frames, packs and index as files in a backup; chunks already stored are not stored
 * again). The index is written before this returns: a caller that then records `content`
 * refers only to blobs that are there.
 */
export async function storeStream(repo: Repository, input: AsyncIterable<Buffer>, compression: CompressionSettings): Promise<StoredStream> {
  const index = await repo.loadIndex();
  const c = repo.config.chunker;
  const chunker = new Chunker(gearTable(repo.chunkerSeed), { minSize: c.min, avgSize: c.avg, maxSize: c.max });
  const writer = repo.packWriter(new FrameCompressor(compression));
  const buf = Buffer.allocUnsafeSlow(BLOCK + c.max);
  const whole = createHash('sha256');
  const acc: ChunkAcc = { content: [], size: 0, newBlobs: 0, newBytes: 0 };
  let filled = 0;
  const cut = (final: boolean): void => {
    const pos = storeChunks(chunker, writer, index, buf, filled, final, acc);
    buf.copyWithin(0, pos, filled);
    filled -= pos;
  };
  try {
    for await (const data of input) {
      whole.update(data);
      let off = 0;
      while (off < data.length) {
        const n = Math.min(buf.length - filled, data.length - off);
        data.copy(buf, filled, off, off + n);
        filled += n;
        off += n;
        if (filled === buf.length) {
          cut(false);
          await writer.maybeFlush();
        }
      }
    }
    cut(true);
    const blobs = await writer.finish();
    await repo.writeIndex(blobs);
  } catch (e) {
    await writer.abort();
    throw e;
  }
  return { content: acc.content, size: acc.size, sha256: whole.digest('hex'), newBlobs: acc.newBlobs, newBytes: acc.newBytes };
}

/** The stored bytes again, chunk by chunk (each chunk re-hashed), and the whole checked against `sha`. */
export async function* readStream(repo: Repository, content: readonly string[], sha: string): AsyncGenerator<Buffer> {
  await repo.loadIndex();
  const whole = createHash('sha256');
  for (const id of content) {
    const data = await repo.readBlob(id);
    whole.update(data);
    yield data;
  }
  if (whole.digest('hex') !== sha) throw new PrismError('CHECKSUM_MISMATCH', `Stored data does not match its checksum ${sha.slice(0, 12)}.`);
}
