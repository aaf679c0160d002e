import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import type { Backend, ObjectInfo } from '../backend/backend.js';
import { ObjectNotFoundError } from '../backend/store-error.js';
import { fetchInOrder } from '../core/in-order.js';
import {
  KeyFileError,
  MASTER_KEY_BYTES,
  WrongPasswordError,
  contentKeys,
  newMasterKey,
  objectKey,
  parseKeyFile,
  unwrapMasterKey,
  wrapMasterKey,
  type KeyFileBody,
  type ScryptParams,
} from '../codec/master-key.js';
import { SealError, open, seal } from '../codec/seal.js';
import { PrismError } from '../errors/index.js';
import type { CryptSecrets } from './crypt.js';
import { KEYRING_DIR, KEYS_DIR, keyFileName, keyringName } from './layout.js';
import type { RepoConfig } from './repo-config.js';

/*
 * The keys of an encrypted repository.
 *
 * - A master key (64 random bytes) has a generation: 1 at `init`, one more at each `key rotate`.
 * - `keyring/<generation>` is sealed with the object key of its generation and holds what outlives
 *   a rotation: the blob-id key and the chunker seed (derived from the first master key), and the
 *   master keys of older generations whose objects are still stored. The highest generation is
 *   the current one: new objects are sealed with it.
 * - `keys/<id>.json` wraps one generation's master key under a password (master-key.ts). A key
 *   file of an older generation than the current one is retired: it no longer opens the repository.
 */

export interface KeyFileRecord extends KeyFileBody {
  generation: number;
  created: string;
}

/** A repository opened with a key: what its commands need, and what key commands change. */
export interface Unlocked {
  generation: number;
  master: Buffer;
  /** The key file that opened it (undefined when opened with an exported master key). */
  keyId: string | undefined;
  /** Master keys (hex) of older generations still held by the keyring. */
  older: Record<string, string>;
  idKey: string;
  chunkerSeed: string;
  /** Work a `key rotate` left to do: reseal the metadata (and then the data), or rewrite the data packs. */
  pending?: 'metadata' | 'metadata+data' | 'data' | undefined;
}

const hex = (bytes: number) => v.pipe(v.string(), v.regex(new RegExp(`^[0-9a-f]{${bytes * 2}}$`)));
const generation = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(0xffffffff));

const keyringSchema = v.object({
  version: v.literal(1),
  repository: v.string(),
  generation,
  id_key: hex(32),
  chunker_seed: hex(32),
  older: v.record(v.pipe(v.string(), v.regex(/^[1-9][0-9]{0,9}$/)), hex(MASTER_KEY_BYTES)),
  pending: v.optional(v.picklist(['metadata', 'metadata+data', 'data'])),
});
type KeyringBody = v.InferOutput<typeof keyringSchema>;

export function keyFileContext(repoId: string, gen: number): string {
  return `prism key file of repository ${repoId}, master key generation ${gen}`;
}

/** The secrets a Crypt needs, from an unlocked repository. */
export function cryptSecrets(u: Unlocked): CryptSecrets {
  const objectKeys: Record<string, string> = { [u.generation]: objectKey(u.master).toString('hex') };
  for (const [g, m] of Object.entries(u.older)) objectKeys[g] = objectKey(Buffer.from(m, 'hex')).toString('hex');
  return { generation: u.generation, objectKeys, idKey: u.idKey };
}

/** Writes the first keyring and key file of a new encrypted repository. */
export async function createKeys(
  backend: Backend,
  config: RepoConfig,
  password: Uint8Array,
  params: ScryptParams,
  now: Date,
  /** The blob-id key and chunker seed of another repository (a copy with its own master key), else derived from the new master key. */
  shared?: Pick<Unlocked, 'idKey' | 'chunkerSeed'>,
): Promise<Unlocked> {
  const master = newMasterKey();
  const content = contentKeys(master);
  const u: Unlocked = {
    generation: 1,
    master,
    keyId: undefined,
    older: {},
    idKey: shared?.idKey ?? content.idKey.toString('hex'),
    chunkerSeed: shared?.chunkerSeed ?? content.chunkerSeed.toString('hex'),
  };
  if (!(await writeKeyring(backend, config, u, 'create'))) {
    throw new PrismError('REPO_CORRUPT', `${backend.location} already holds a keyring: another process is creating a repository there.`);
  }
  u.keyId = await writeKeyFile(backend, config, u, password, params, now);
  return u;
}

/**
 * Writes the keyring of `u.generation` (sealed with that generation's key). `create` writes only
 * if there is none (false if there is); `replace` replaces it (after a rotation has rewritten
 * every object of an older generation, to forget that generation's key).
 */
export async function writeKeyring(backend: Backend, config: RepoConfig, u: Unlocked, mode: 'create' | 'replace'): Promise<boolean> {
  const body: KeyringBody = {
    version: 1,
    repository: config.id,
    generation: u.generation,
    id_key: u.idKey,
    chunker_seed: u.chunkerSeed,
    older: u.older,
    ...(u.pending ? { pending: u.pending } : {}),
  };
  const name = keyringName(u.generation);
  const sealed = seal(objectKey(u.master), Buffer.from(JSON.stringify(body)), name, u.generation);
  if (mode === 'create') return backend.putIfAbsent(name, sealed);
  await backend.put(name, sealed);
  return true;
}

/** Wraps the master key of `u` under `password` in a new key file; returns its id. */
export async function writeKeyFile(backend: Backend, config: RepoConfig, u: Unlocked, password: Uint8Array, params: ScryptParams, now: Date): Promise<string> {
  const body = await wrapMasterKey(u.master, password, keyFileContext(config.id, u.generation), params);
  const record: KeyFileRecord = { ...body, generation: u.generation, created: now.toISOString() };
  for (;;) {
    const id = randomBytes(8).toString('hex');
    if (await backend.putIfAbsent(keyFileName(id), Buffer.from(JSON.stringify(record, null, 2) + '\n'))) return id;
  }
}

export interface KeyFileEntry {
  id: string;
  record?: KeyFileRecord;
  /** Why the key file cannot be used. */
  error?: string;
}

/** Every key file, parsed and checked (a malformed one carries its error instead). */
export async function readKeyFiles(backend: Backend): Promise<KeyFileEntry[]> {
  const listed = (await backend.list(KEYS_DIR)).filter((o) => KEY_FILE.test(o.name));
  // a few at a time (a repository may hold dozens), each with its listing entry (a local copy may answer: metadata-cache.ts)
  const read = await fetchInOrder(listed, KEY_FILE_READS, async (o): Promise<KeyFileEntry | undefined> => {
    const id = KEY_FILE.exec(o.name)![1]!;
    try {
      return { id, record: parseKeyFileRecord(JSON.parse((await backend.get(o.name, { listed: o })).toString('utf8'))) };
    } catch (e) {
      if (e instanceof ObjectNotFoundError) return undefined;
      return { id, error: e instanceof SyntaxError ? `not valid JSON: ${e.message}` : (e as Error).message };
    }
  });
  return read.filter((f) => f !== undefined);
}

const KEY_FILE = /^keys\/([0-9a-f]{16})\.json$/;
const KEY_FILE_READS = 8;

function parseKeyFileRecord(raw: unknown): KeyFileRecord {
  const body = parseKeyFile(raw);
  const o = raw as Record<string, unknown>;
  if (!v.is(generation, o.generation)) throw new KeyFileError(`generation ${JSON.stringify(o.generation)} is not a whole number from 1`);
  if (typeof o.created !== 'string') throw new KeyFileError('created is not a time');
  return { ...body, generation: o.generation, created: o.created };
}

/** The highest keyring generation (0 when there is none). */
export async function currentGeneration(backend: Backend): Promise<number> {
  return (await currentKeyring(backend)).generation;
}

/** The highest keyring generation (0 when there is none) and its keyring's listing entry (for a local copy to answer its read). */
export async function currentKeyring(backend: Backend): Promise<{ generation: number; listed?: ObjectInfo }> {
  let current: { generation: number; listed?: ObjectInfo } = { generation: 0 };
  for (const o of await backend.list(KEYRING_DIR)) {
    const m = /^keyring\/([0-9]{10})$/.exec(o.name);
    if (m && Number(m[1]) > current.generation) current = { generation: Number(m[1]), listed: o };
  }
  return current;
}

/** Opens the keyring of `gen` with that generation's master key. */
export async function unlockWithMaster(
  backend: Backend,
  config: RepoConfig,
  master: Buffer,
  gen: number,
  keyId?: string,
  /** The keyring's entry in a listing just made (a local copy may answer: metadata-cache.ts). */
  listed?: ObjectInfo,
): Promise<Unlocked> {
  const name = keyringName(gen);
  let sealed: Buffer;
  try {
    sealed = await backend.get(name, listed?.name === name ? { listed } : undefined);
  } catch (e) {
    if (e instanceof ObjectNotFoundError)
      throw new PrismError('REPO_CORRUPT', `${backend.location}/${name} is missing: the repository's keys cannot be read.`, { object: name });
    throw e;
  }
  let body: KeyringBody;
  try {
    body = v.parse(keyringSchema, JSON.parse(open(objectKey(master), sealed, name).toString('utf8')));
  } catch (e) {
    if (e instanceof SealError && e.reason === 'authentication')
      throw new PrismError('KEY_REFUSED', `The key does not open ${name}: it is not a key of this repository's current master key.`, { object: name });
    throw new PrismError('REPO_CORRUPT', `${backend.location}/${name} is damaged: ${(e as Error).message}.`, { object: name });
  }
  if (body.repository !== config.id || body.generation !== gen)
    throw new PrismError('REPO_CORRUPT', `${backend.location}/${name} belongs to another repository or generation.`, { object: name });
  return { generation: gen, master, keyId, older: body.older, idKey: body.id_key, chunkerSeed: body.chunker_seed, pending: body.pending };
}

/**
 * Opens the repository with a password: the key file `hint` names (an id or its prefix) first,
 * then the key files of the current generation (two at a time: scrypt runs on the thread pool),
 * then, to say so, the retired ones. A key file of a generation with no keyring (a rotation that
 * died before it finished) is skipped.
 */
export async function unlockWithPassword(
  backend: Backend,
  config: RepoConfig,
  password: Uint8Array,
  origin: string,
  hint?: string,
  whileDeriving?: () => void,
): Promise<Unlocked> {
  const { generation: current, listed: keyring } = await currentKeyring(backend);
  const files = await readKeyFiles(backend);
  const usable = files.filter((f) => f.record && f.record.generation <= current);
  if (current === 0 || files.length === 0) {
    const empty = (await backend.list('snapshots')).length === 0 && (await backend.list('data')).length === 0;
    throw new PrismError(
      'REPO_CORRUPT',
      empty
        ? `The encrypted repository at ${backend.location} has no ${current === 0 ? 'keyring' : 'key files'} and no backups: its creation did not finish. Delete the directory and create it again (\`prism init --encrypt\`).`
        : `The encrypted repository at ${backend.location} has no ${current === 0 ? 'keyring' : 'key files'}: ${KEYS_DIR}/ or ${KEYRING_DIR}/ was deleted. Restore them from a copy of the repository, or use \`prism key import\` with a key export.`,
      { path: backend.location },
    );
  }
  if (usable.length === 0) {
    const bad = files.filter((f) => f.error).map((f) => `${f.id}: ${f.error}`);
    throw new PrismError('KEY_FILE_INVALID', `No key file of the repository at ${backend.location} can be used: ${bad.join('; ')}.`, { keys: bad });
  }
  const hinted = (f: KeyFileEntry): number => (hint && f.id.startsWith(hint) ? 1 : 0);
  usable.sort((a, b) => hinted(b) - hinted(a) || b.record!.generation - a.record!.generation);
  let retired: KeyFileEntry | undefined;
  /** A key file of the current generation that opened, whose master key the keyring refused. */
  let keyringRefused: string | undefined;
  for (let i = 0; i < usable.length; i += 2) {
    const batch = usable.slice(i, i + 2);
    const deriving = batch.map(async (f) => {
      try {
        return await unwrapMasterKey(f.record!, password, keyFileContext(config.id, f.record!.generation));
      } catch (e) {
        if (e instanceof WrongPasswordError || e instanceof KeyFileError) return undefined;
        throw e;
      }
    });
    // scrypt now runs on the thread pool: the caller's work that needs no key runs meanwhile
    if (i === 0) whileDeriving?.();
    const opened = await Promise.all(deriving);
    for (const [j, master] of opened.entries()) {
      if (!master) continue;
      const f = batch[j]!;
      if (f.record!.generation === current) {
        try {
          return await unlockWithMaster(backend, config, master, current, f.id, keyring);
        } catch (e) {
          // a key file left by a rotation that died before its keyring, whose generation a later rotation reused
          if (e instanceof PrismError && e.code === 'KEY_REFUSED') {
            keyringRefused ??= f.id;
            continue;
          }
          throw e;
        }
      }
      retired ??= f;
    }
  }
  if (retired) {
    throw new PrismError(
      'KEY_REFUSED',
      `The password opens key ${retired.id}, whose master key (generation ${retired.record!.generation}) was retired by \`prism key rotate\` (current generation ${current}). Use a password added after the rotation, or \`prism key import\` with an export of the current key.`,
      { key: retired.id },
    );
  }
  if (keyringRefused) {
    // the key file authenticates the repository and generation: its master key is right, so the keyring is not
    const name = keyringName(current);
    throw new PrismError(
      'REPO_CORRUPT',
      `${backend.location}/${name} is damaged: key ${keyringRefused} opens with the password and belongs to this repository's master key generation ${current}, but the keyring does not decrypt with it (unless that key file was left by a \`prism key rotate\` that did not finish). Restore ${KEYRING_DIR}/ from a copy of the repository.`,
      { object: name },
    );
  }

  const bad = files.filter((f) => f.error);
  throw new PrismError(
    'WRONG_PASSWORD',
    `No key file of the repository at ${backend.location} opens with the password from ${origin}${bad.length ? ` (${bad.length} key file(s) unusable: ${bad.map((f) => f.id).join(', ')})` : ''}. Nothing was written.`,
  );
}
