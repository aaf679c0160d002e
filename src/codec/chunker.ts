import { createHash } from 'node:crypto';
import { GearScanner } from './gear-scan.js';

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
    const block = createHash('sha256')
      .update(seed)
      .update(Buffer.from([i]))
      .digest();
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
  private readonly scanner: GearScanner;

  constructor(
    gear: Int32Array,
    readonly params: ChunkerParams = DEFAULT_CHUNKER,
  ) {
    this.scanner = new GearScanner(gear);
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
    this.scanner.reset();
    const cutS = this.scanner.scan(data, start + minSize, start + normal, this.maskS);
    if (cutS !== -1) return cutS - start;
    const cutL = this.scanner.scan(data, start + normal, start + n, this.maskL);
    if (cutL !== -1) return cutL - start;
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
