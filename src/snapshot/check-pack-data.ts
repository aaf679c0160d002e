import { createHash } from 'node:crypto';
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

/** How the reason of every chunk whose frame was not opened begins (such a chunk is not counted as read). */
export const FRAME_FAILURE = 'frame at ';

/** What one thread reuses from pack to pack: the buffer a pack's windows are read into, and the frame decoder. */
export interface PackReading {
  into: ReadBuffer;
  decoder: FrameDecoder;
  /** Bytes read at a time (default PACK_WINDOW_BYTES). */
  windowBytes?: number;
}

/**
 * Bytes of a pack read at a time (extended to the end of every frame that starts in the window):
 * a thread holds a window, not the whole 16 MiB pack.
 */
export const PACK_WINDOW_BYTES = 2 * 1024 * 1024;

/**
 * Reads a pack from start to end in windows and checks the chunks `blobs` of it: every frame they
 * lie in opened and decompressed, every chunk re-hashed against its id; and whether the pack's
 * SHA-256 (taken over the windows as they are read) is its id. `size` is the pack's size as listed
 * (asked of the store when not given). A pack that is not sound is read again whole for the caller
 * to judge (checkPack).
 */
export async function checkPackData(
  repo: Repository,
  reading: PackReading,
  pack: string,
  blobs: readonly IndexedBlob[],
  size?: number,
): Promise<PackDataResult> {
  const { decoder } = reading;
  const failed: Array<[string, string]> = [];
  let chunksRead = 0;
  const byOffset = new Map<number, IndexedBlob[]>();
  for (const b of blobs) {
    let list = byOffset.get(b.frameOffset);
    if (!list) byOffset.set(b.frameOffset, (list = []));
    list.push(b);
  }
  const frames = [...byOffset].sort((a, b) => a[0] - b[0]);
  const crypt = repo.crypt;
  const check = (window: Buffer, at: number, offset: number, inFrame: IndexedBlob[]): void => {
    const first = inFrame[0]!;
    let plain: Buffer;
    try {
      plain = decoder.decode(first.codec, window.subarray(offset - at, offset - at + first.frameLength), first.frameRawLength);
    } catch (e) {
      const reason = `${FRAME_FAILURE}${offset} of pack ${pack.slice(0, 12)} does not ${crypt.encrypted ? 'open or ' : ''}decompress: ${(e as Error).message}`;
      for (const b of inFrame) failed.push([b.id, reason]);
      return;
    }
    for (const b of inFrame) {
      chunksRead++;
      const data = plain.subarray(b.blobOffset, b.blobOffset + b.blobLength);
      if (data.length !== b.blobLength || !crypt.isBlob(data, b.id))
        failed.push([b.id, `chunk ${b.id.slice(0, 12)} in pack ${pack.slice(0, 12)} does not match its id`]);
    }
  };
  const hash = createHash('sha256');
  try {
    const total = size ?? (await repo.packSize(pack));
    let pos = 0;
    let next = 0;
    while (pos < total || next < frames.length) {
      // the window: PACK_WINDOW_BYTES from pos, to the end of every frame that starts in it
      let end = Math.min(total, pos + (reading.windowBytes ?? PACK_WINDOW_BYTES));
      let last = next;
      while (last < frames.length && frames[last]![0] < end) {
        const [offset, inFrame] = frames[last]!;
        end = Math.max(end, Math.min(total, offset + inFrame[0]!.frameLength));
        last++;
      }
      if (end <= pos) {
        // frames the index places at or past the pack's end (it is shorter than they say)
        for (; next < frames.length; next++) {
          const [offset, inFrame] = frames[next]!;
          for (const b of inFrame) failed.push([b.id, `${FRAME_FAILURE}${offset} of pack ${pack.slice(0, 12)} lies past the pack's end (${total} bytes)`]);
        }
        break;
      }
      const window = await repo.readPackRange(pack, pos, end - pos, reading.into);
      hash.update(window);
      for (; next < last; next++) {
        const [offset, inFrame] = frames[next]!;
        if (offset < pos || offset + inFrame[0]!.frameLength > end) {
          // it overlaps the frame before it, or runs past the pack's end: what there is of it, checked on its own
          const whole = Math.min(total, offset + inFrame[0]!.frameLength) - offset;
          check(await repo.readPackRange(pack, offset, whole), offset, offset, inFrame);
        } else check(window, pos, offset, inFrame);
      }
      pos = end;
    }
  } catch (e) {
    return { unreadable: (e as Error).message, sound: false, failed: [], chunksRead: 0 };
  }
  if (hash.digest('hex') === pack) return { sound: true, failed, chunksRead };
  // damaged: the whole pack for checkPack (a fresh buffer: it outlives the reused one)
  try {
    return { sound: false, bytes: await repo.readPack(pack), failed, chunksRead };
  } catch (e) {
    return { unreadable: (e as Error).message, sound: false, failed: [], chunksRead: 0 };
  }
}
