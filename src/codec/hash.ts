import { createHash } from 'node:crypto';

export const ID_BYTES = 32;

/** SHA-256 of the plaintext: the id of every chunk, tree and pack. */
export function sha256(data: Uint8Array | string): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * SHA-256 over a list of ids (hex), in order: the checksum of a stored object from its chunk ids.
 * As strong as a SHA-256 of the object's bytes (each id is the SHA-256 of its chunk) and free
 * once the object is chunked.
 */
export function idListDigest(ids: readonly string[]): string {
  const h = createHash('sha256');
  for (const id of ids) h.update(Buffer.from(id, 'hex'));
  return h.digest('hex');
}
