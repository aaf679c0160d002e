import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Authenticated encryption of one stored object: AES-256-GCM from node:crypto.
 *
 * Sealed form: `scheme (1 byte, 1) | nonce (12 bytes) | ciphertext | tag (16 bytes)`.
 * The nonce is 96 random bits drawn for every object. A key seals at most a few million objects
 * (packs, index files, records; chunks travel inside packs), far below the 2^32 that NIST SP
 * 800-38D allows for random nonces, so a repeat has a probability under 2^-32 per key; a key
 * rotation starts a new key.
 *
 * `context` is authenticated, not stored: the object's name or kind. An object copied over
 * another (a swapped index file, a pack under another id) then fails to open like damage does.
 */
export const SEAL_SCHEME = 1;
export const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** What sealing adds to an object. */
export const SEAL_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;

/** A sealed object that does not open: damaged, sealed under another key, or moved from elsewhere. */
export class SealError extends Error {
  constructor(
    message: string,
    readonly reason: 'scheme' | 'short' | 'authentication',
  ) {
    super(message);
    this.name = 'SealError';
  }
}

export function seal(key: Uint8Array, plaintext: Uint8Array, context: string): Buffer {
  checkKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = cipher.update(plaintext);
  const last = cipher.final();
  return Buffer.concat([Buffer.of(SEAL_SCHEME), nonce, body, last, cipher.getAuthTag()]);
}

export function open(key: Uint8Array, sealed: Uint8Array, context: string): Buffer {
  checkKey(key);
  if (sealed.length < SEAL_OVERHEAD) throw new SealError(`sealed object of ${sealed.length} bytes is shorter than its ${SEAL_OVERHEAD}-byte envelope`, 'short');
  if (sealed[0] !== SEAL_SCHEME) throw new SealError(`unknown sealing scheme ${sealed[0]}`, 'scheme');
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const nonce = buf.subarray(1, 1 + NONCE_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(tag);
  const body = decipher.update(buf.subarray(1 + NONCE_BYTES, buf.length - TAG_BYTES));
  try {
    return Buffer.concat([body, decipher.final()]);
  } catch {
    throw new SealError('the object does not authenticate: it is damaged, sealed under another key, or not where it was written', 'authentication');
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`a sealing key has ${KEY_BYTES} bytes, not ${key.length}`);
}
