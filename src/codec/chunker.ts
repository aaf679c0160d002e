import { createHash } from 'node:crypto';

/** FastCDC parameters (normalized chunking, level 2). */
export interface ChunkerParams {
  readonly minSize: number;
  readonly avgSize: number;
  readonly maxSize: number;
}

export const DEFAULT_CHUNKER: ChunkerParams = { minSize: 256 * 1024, avgSize: 1024 * 1024, maxSize: 4 * 1024 * 1024 };

/** The 256-entry gear table, derived from the repository's chunker seed (hex). */
export function gearTable(seedHex: string): Int32Array {
  const table = new Int32Array(256);
  const seed = Buffer.from(seedHex, 'hex');
  for (let i = 0; i < 256; i += 8) {
    const block = createHash('sha256').update(seed).update(Buffer.from([i])).digest();
    for (let j = 0; j < 8; j++) table[i + j] = block.readInt32LE(j * 4);
  }
  return table;
}

/** A mask with `bits` one-bits in the high end of a 32-bit word. */
function highMask(bits: number): number {
  return bits >= 32 ? -1 : ~((1 << (32 - bits)) - 1) | 0;
}

export class Chunker {
  private readonly maskS: number;
  private readonly maskL: number;

  constructor(
    private readonly gear: Int32Array,
    readonly params: ChunkerParams = DEFAULT_CHUNKER,
  ) {
    const bits = Math.round(Math.log2(params.avgSize));
    this.maskS = highMask(bits + 2);
    this.maskL = highMask(bits - 2);
  }

  /**
   * Length of the next chunk starting at `start` in data[start, end). The caller passes at least
   * maxSize bytes unless `end` is the end of the file.
   */
  cut(data: Uint8Array, start: number, end: number): number {
    const { minSize, avgSize, maxSize } = this.params;
    let n = end - start;
    if (n <= minSize) return n;
    if (n > maxSize) n = maxSize;
    const normal = n < avgSize ? n : avgSize;
    const gear = this.gear;
    const maskS = this.maskS;
    const maskL = this.maskL;
    let h = 0;
    let i = start + minSize;
    // Each loop is unrolled by four (the same test after every byte): ~30 % faster in V8.
    const normalEnd = start + normal;
    for (; i + 4 <= normalEnd; i += 4) {
      h = ((h << 1) + gear[data[i]!]!) | 0;
      if ((h & maskS) === 0) return i - start + 1;
      h = ((h << 1) + gear[data[i + 1]!]!) | 0;
      if ((h & maskS) === 0) return i - start + 2;
      h = ((h << 1) + gear[data[i + 2]!]!) | 0;
      if ((h & maskS) === 0) return i - start + 3;
      h = ((h << 1) + gear[data[i + 3]!]!) | 0;
      if ((h & maskS) === 0) return i - start + 4;
    }
    for (; i < normalEnd; i++) {
      h = ((h << 1) + gear[data[i]!]!) | 0;
      if ((h & maskS) === 0) return i - start + 1;
    }
    const hardEnd = start + n;
    for (; i + 4 <= hardEnd; i += 4) {
      h = ((h << 1) + gear[data[i]!]!) | 0;
      if ((h & maskL) === 0) return i - start + 1;
      h = ((h << 1) + gear[data[i + 1]!]!) | 0;
      if ((h & maskL) === 0) return i - start + 2;
      h = ((h << 1) + gear[data[i + 2]!]!) | 0;
      if ((h & maskL) === 0) return i - start + 3;
      h = ((h << 1) + gear[data[i + 3]!]!) | 0;
      if ((h & maskL) === 0) return i - start + 4;
    }
    for (; i < hardEnd; i++) {
      h = ((h << 1) + gear[data[i]!]!) | 0;
      if ((h & maskL) === 0) return i - start + 1;
    }
    return n;
  }

  /** All chunk lengths of a complete buffer. */
  split(data: Uint8Array): number[] {
    const out: number[] = [];
    let pos = 0;
    while (pos < data.length) {
      const len = this.cut(data, pos, data.length);
      out.push(len);
      pos += len;
    }
    return out;
  }
}
