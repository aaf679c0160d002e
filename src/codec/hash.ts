import { createHash } from 'node:crypto';

export const ID_BYTES = 32;

/** SHA-256 of the plaintext: the id of every chunk, tree and pack. */
export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}
