import { sha256Hex } from '../codec/hash.js';
import type { FrameDecoder, IndexedBlob, ReadBuffer, Repository } from '../repo/index.js';

/** What reading one pack found (the same whichever thread read it). */
export interface PackDataResult {
  /** Why the pack could not be read; nothing else was checked. */
  unreadable?: string;
  /** Its SHA-256 is its id. When it is not, `bytes` holds the pack for the caller to judge (checkPack). */
  sound: boolean;
  bytes?: Buffer;
  /** Chunks that failed, with why, in the order checked. */
  failed: Array<[id: string, reason: string]>;
  /** Chunks whose frame was read (each re-hashed, or failed with its frame). */
  chunksRead: number;
}

/** What one thread reuses from pack to pack: the buffer packs are read into, and the frame decoder. */
export interface PackReading {
  into: ReadBuffer;
  decoder: FrameDecoder;
}

/**
 * Reads a pack whole and checks the chunks `blobs` of it: every frame they lie in opened and
 * decompressed, every chunk re-hashed against its id; and whether the pack's SHA-256 is its id.
 */
export async function checkPackData(repo: Repository, reading: PackReading, pack: string, blobs: readonly IndexedBlob[]): Promise<PackDataResult> {
  const { decoder } = reading;
  let buf: Buffer;
  try {
    buf = await repo.readPack(pack, reading.into);
  } catch (e) {
    return { unreadable: (e as Error).message, sound: false, failed: [], chunksRead: 0 };
  }
  const failed: Array<[string, string]> = [];
  let chunksRead = 0;
  const frames = new Map<number, IndexedBlob[]>();
  for (const b of blobs) {
    let list = frames.get(b.frameOffset);
    if (!list) frames.set(b.frameOffset, (list = []));
    list.push(b);
  }
  const crypt = repo.crypt;
  for (const [offset, inFrame] of frames) {
    const first = inFrame[0]!;
    let plain: Buffer;
    try {
      plain = decoder.decode(first.codec, buf.subarray(offset, offset + first.frameLength), first.frameRawLength);
    } catch (e) {
      const reason = `frame at ${offset} of pack ${pack.slice(0, 12)} does not ${crypt.encrypted ? 'open or ' : ''}decompress: ${(e as Error).message}`;
      for (const b of inFrame) failed.push([b.id, reason]);
      continue;
    }
    for (const b of inFrame) {
      chunksRead++;
      const data = plain.subarray(b.blobOffset, b.blobOffset + b.blobLength);
      if (data.length !== b.blobLength || !crypt.isBlob(data, b.id))
        failed.push([b.id, `chunk ${b.id.slice(0, 12)} in pack ${pack.slice(0, 12)} does not match its id`]);
    }
  }
  const sound = sha256Hex(buf) === pack;
  // a damaged pack's bytes outlive the reused buffer
  return sound ? { sound, failed, chunksRead } : { sound, bytes: Buffer.from(buf), failed, chunksRead };
}
