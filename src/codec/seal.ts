import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Authenticated encryption of one stored object: AES-256-GCM from node:crypto.
 *
 * Sealed form: `scheme (1 byte, 1) | key generation (uint32 LE) | nonce (12 bytes) | ciphertext | tag (16 bytes)`.
 * The key generation says which of the repository's master keys sealed the object (a
 * `prism key rotate` starts a new one; older objects keep opening with the older key until they
 * are rewritten). The nonce is 96 random bits drawn for every object; NIST SP 800-38D allows
 * 2^32 objects per key with random nonces (a repeat then has a probability below 2^-32). prism
 * seals frames of about 1 MiB, so a key reaches that bound after some 4 PiB; a rotation starts a
 * fresh key.
 *
 * Authenticated but not encrypted: the 5 header bytes and `context` (the object's name or kind,
 * not stored). An object copied over another (a swapped index file, a frame moved into a record)
 * or a changed generation then fails to open like damage does.
 */
export const SEAL_SCHEME = 1;
export const KEY_BYTES = 32;
const HEADER_BYTES = 5;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** What sealing adds to an object. */
export const SEAL_OVERHEAD = HEADER_BYTES + NONCE_BYTES + TAG_BYTES;

/** A sealed object that does not open: damaged, sealed under another key, or moved from elsewhere. */
export class SealError extends Error {
  constructor(
    message: string,
    readonly reason: 'scheme' | 'short' | 'authentication' | 'generation',
  ) {
    super(message);
    this.name = 'SealError';
  }
}

export function seal(key: Uint8Array, plaintext: Uint8Array, context: string, generation = 0): Buffer {
  return Buffer.concat(sealParts(key, plaintext, context, generation));
}

/**
 * `seal`, as the pieces to write one after another (header, ciphertext, tag): a frame of a pack is
 * written as it is, without joining it into one buffer first (joining a megabyte costs more than
 * encrypting it).
 */
export function sealParts(key: Uint8Array, plaintext: Uint8Array, context: string, generation = 0): Buffer[] {
  checkKey(key);
  const header = Buffer.allocUnsafe(HEADER_BYTES + NONCE_BYTES);
  header[0] = SEAL_SCHEME;
  header.writeUInt32LE(generation, 1);
  randomBytes(NONCE_BYTES).copy(header, HEADER_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, header.subarray(HEADER_BYTES), { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(header, context));
  const body = cipher.update(plaintext);
  const last = cipher.final();
  return last.length === 0 ? [header, body, cipher.getAuthTag()] : [header, body, last, cipher.getAuthTag()];
}

/** The key generation a sealed object names (checked only when it is opened). */
export function sealedGeneration(sealed: Uint8Array): number {
  if (sealed.length < SEAL_OVERHEAD) throw new SealError(`sealed object of ${sealed.length} bytes is shorter than its ${SEAL_OVERHEAD}-byte envelope`, 'short');
  if (sealed[0] !== SEAL_SCHEME) throw new SealError(`unknown sealing scheme ${sealed[0]}`, 'scheme');
  return Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength).readUInt32LE(1);
}

export function open(key: Uint8Array, sealed: Uint8Array, context: string): Buffer {
  checkKey(key);
  sealedGeneration(sealed);
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const header = buf.subarray(0, HEADER_BYTES + NONCE_BYTES);
  const tag = buf.subarray(buf.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, header.subarray(HEADER_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad(header, context));
  decipher.setAuthTag(tag);
  const body = decipher.update(buf.subarray(header.length, buf.length - TAG_BYTES));
  try {
    const last = decipher.final();
    return last.length === 0 ? body : Buffer.concat([body, last]);
  } catch {
    throw new SealError('the object does not authenticate: it is damaged, sealed under another key, or not where it was written', 'authentication');
  }
}

/**
 * How much ciphertext `openInto` deciphers at a time. Each piece comes out as a latin1 string (one
 * char per byte) written into `out`: a string lives in the young generation and is gone at the next
 * scavenge, where a Buffer's memory outside the heap would be freed only once tens of MiB of such
 * buffers had piled up (a restore of an encrypted repository held ~30-50 MiB more at its peak).
 */
const OPEN_PIECE = 64 * 1024;

/**
 * `open`, with the plaintext written into `out` (at least `sealed.length − SEAL_OVERHEAD` bytes,
 * reused by the caller) instead of a new buffer: deciphered in pieces and copied, which is cheaper
 * than allocating a megabyte for every frame. Returns the plaintext's length.
 */
export function openInto(key: Uint8Array, sealed: Uint8Array, context: string, out: Buffer): number {
  checkKey(key);
  sealedGeneration(sealed);
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const header = buf.subarray(0, HEADER_BYTES + NONCE_BYTES);
  const end = buf.length - TAG_BYTES;
  if (out.length < end - header.length) throw new RangeError(`an output of ${out.length} bytes cannot hold ${end - header.length} bytes`);
  const decipher = createDecipheriv('aes-256-gcm', key, header.subarray(HEADER_BYTES), { authTagLength: TAG_BYTES });
  decipher.setAAD(aad(header, context));
  decipher.setAuthTag(buf.subarray(end));
  let n = 0;
  for (let at = header.length; at < end; at += OPEN_PIECE)
    n += out.write(decipher.update(buf.subarray(at, Math.min(end, at + OPEN_PIECE)), undefined, 'latin1'), n, 'latin1');
  try {
    n += decipher.final().copy(out, n);
  } catch {
    throw new SealError('the object does not authenticate: it is damaged, sealed under another key, or not where it was written', 'authentication');
  }
  return n;
}

function aad(header: Buffer, context: string): Buffer {
  return Buffer.concat([header.subarray(0, HEADER_BYTES), Buffer.from(context, 'utf8')]);
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`a sealing key has ${KEY_BYTES} bytes, not ${key.length}`);
}
