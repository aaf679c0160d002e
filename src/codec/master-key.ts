import { hkdfSync, randomBytes, scrypt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { KEY_BYTES, SealError, open, seal } from './seal.js';

/**
 * The master key of an encrypted repository and the key files that wrap it.
 *
 * - The master key is 64 random bytes. Keys are derived from it with HKDF-SHA256: the key that
 *   seals objects (`objectKey`), and, from a repository's first master key, the key of the keyed
 *   blob ids and the chunker's seed (`contentKeys`; they outlive a key rotation, see repo/keyring.ts).
 * - A key file holds the master key sealed (`seal.ts`) under a key derived from a password with
 *   scrypt; its parameters and salt are stored beside it, so each key file can have its own.
 *   The sealing context names the repository (and the key's generation): a key file of another
 *   repository does not open.
 * - Parameters read from a key file are checked against fixed bounds before anything is
 *   allocated, so a crafted key file cannot make scrypt take gigabytes or hours.
 */
export const MASTER_KEY_BYTES = 64;

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** Bounds every key file's parameters must keep (memory is 128 · N · r bytes). */
export const SCRYPT_BOUNDS = { minN: 2 ** 14, maxN: 2 ** 20, maxR: 32, maxP: 16, maxMemoryBytes: 256 * 1024 * 1024 };

/** What `calibrateScrypt` aims at: restic's bounds (at most ~0.5 s and 60 MiB). */
export const SCRYPT_TARGET = { ms: 500, memoryBytes: 60 * 1024 * 1024 };

export interface KeyFileBody {
  version: 1;
  kdf: 'scrypt';
  N: number;
  r: number;
  p: number;
  /** base64 */
  salt: string;
  /** base64 of the sealed master key */
  data: string;
}

/** A key file that cannot be used: malformed, unknown KDF, parameters out of bounds. */
export class KeyFileError extends Error {
  override name = 'KeyFileError';
}

/** The password does not open the key file (or the key file belongs to another repository). */
export class WrongPasswordError extends Error {
  override name = 'WrongPasswordError';
}

export interface ContentKeys {
  /** HMAC-SHA256 key of blob ids. */
  idKey: Buffer;
  /** Seed of the chunker's gear table (32 bytes). */
  chunkerSeed: Buffer;
}

export function newMasterKey(): Buffer {
  return randomBytes(MASTER_KEY_BYTES);
}

/** The key that seals the objects of the master key's generation. */
export function objectKey(master: Uint8Array): Buffer {
  return derive(master, 'prism objects', KEY_BYTES);
}

/** The blob-id key and chunker seed a repository gets from its first master key. */
export function contentKeys(master: Uint8Array): ContentKeys {
  return { idKey: derive(master, 'prism blob ids', 32), chunkerSeed: derive(master, 'prism chunker', 32) };
}

function derive(master: Uint8Array, info: string, bytes: number): Buffer {
  if (master.length !== MASTER_KEY_BYTES) throw new RangeError(`a master key has ${MASTER_KEY_BYTES} bytes, not ${master.length}`);
  return Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), info, bytes));
}

/** Checks parameters as read from a key file; throws KeyFileError before any memory is spent. */
export function checkScryptParams(raw: { N?: unknown; r?: unknown; p?: unknown }): ScryptParams {
  const { N, r, p } = raw;
  const b = SCRYPT_BOUNDS;
  const int = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
  if (!int(N) || !int(r) || !int(p)) throw new KeyFileError('scrypt parameters N, r and p must be whole numbers');
  if (N < b.minN || N > b.maxN || (N & (N - 1)) !== 0) throw new KeyFileError(`scrypt N = ${N} is not a power of two between ${b.minN} and ${b.maxN}`);
  if (r < 1 || r > b.maxR) throw new KeyFileError(`scrypt r = ${r} is outside 1..${b.maxR}`);
  if (p < 1 || p > b.maxP) throw new KeyFileError(`scrypt p = ${p} is outside 1..${b.maxP}`);
  if (memoryOf({ N, r, p }) > b.maxMemoryBytes)
    throw new KeyFileError(`scrypt N = ${N}, r = ${r} needs ${memoryOf({ N, r, p })} bytes, more than ${b.maxMemoryBytes}`);
  return { N, r, p };
}

/** Memory scrypt takes: 128 · N · r bytes (plus 128 · r · p, small). */
export function memoryOf(params: ScryptParams): number {
  return 128 * params.N * params.r + 128 * params.r * params.p;
}

export function passwordKey(password: string | Uint8Array, salt: Uint8Array, params: ScryptParams): Promise<Buffer> {
  const checked = checkScryptParams(params);
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { ...checked, maxmem: memoryOf(checked) + 1024 * 1024 }, (e, key) => (e ? reject(e) : resolve(key))),
  );
}

/** Seals the master key under a password; `context` names the repository (and key) the key file belongs to. */
export async function wrapMasterKey(master: Uint8Array, password: string | Uint8Array, context: string, params: ScryptParams): Promise<KeyFileBody> {
  const salt = randomBytes(32);
  const key = await passwordKey(password, salt, params);
  return {
    version: 1,
    kdf: 'scrypt',
    ...checkScryptParams(params),
    salt: salt.toString('base64'),
    data: seal(key, master, context).toString('base64'),
  };
}

/** Opens a key file with a password. Malformed or out-of-bounds files are refused before scrypt runs. */
export async function unwrapMasterKey(body: unknown, password: string | Uint8Array, context: string): Promise<Buffer> {
  const kf = parseKeyFile(body);
  const key = await passwordKey(password, Buffer.from(kf.salt, 'base64'), kf);
  try {
    const master = open(key, Buffer.from(kf.data, 'base64'), context);
    if (master.length !== MASTER_KEY_BYTES) throw new KeyFileError(`the key file holds a key of ${master.length} bytes`);
    return master;
  } catch (e) {
    if (e instanceof SealError && e.reason === 'authentication')
      throw new WrongPasswordError('the password does not open this key file (or the key file is not one of this repository)');
    if (e instanceof SealError) throw new KeyFileError(e.message);
    throw e;
  }
}

export function parseKeyFile(body: unknown): KeyFileBody {
  if (typeof body !== 'object' || body === null) throw new KeyFileError('a key file is a JSON object');
  const o = body as Record<string, unknown>;
  if (o.version !== 1) throw new KeyFileError(`key file version ${JSON.stringify(o.version)} is not known (1 is)`);
  if (o.kdf !== 'scrypt') throw new KeyFileError(`key derivation ${JSON.stringify(o.kdf)} is not known (scrypt is)`);
  const params = checkScryptParams(o);
  const b64 = (v: unknown, what: string, min: number, max: number): string => {
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new KeyFileError(`${what} is not base64`);
    const n = Buffer.from(v, 'base64').length;
    if (n < min || n > max) throw new KeyFileError(`${what} has ${n} bytes`);
    return v;
  };
  return { version: 1, kdf: 'scrypt', ...params, salt: b64(o.salt, 'salt', 16, 64), data: b64(o.data, 'data', MASTER_KEY_BYTES, MASTER_KEY_BYTES + 64) };
}

/**
 * Parameters for this machine: r = 8, p = 1, and the largest N that stays within
 * SCRYPT_TARGET (time measured on one derivation at the smallest N, memory computed).
 */
export async function calibrateScrypt(target = SCRYPT_TARGET): Promise<ScryptParams> {
  const probe: ScryptParams = { N: SCRYPT_BOUNDS.minN, r: 8, p: 1 };
  const started = performance.now();
  await passwordKey('calibration', Buffer.alloc(16), probe);
  const perUnit = Math.max(performance.now() - started, 0.001) / probe.N;
  let N = probe.N;
  while (N * 2 <= SCRYPT_BOUNDS.maxN && perUnit * N * 2 <= target.ms && memoryOf({ ...probe, N: N * 2 }) <= target.memoryBytes) N *= 2;
  return { ...probe, N };
}
