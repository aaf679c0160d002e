import * as v from 'valibot';
import type { Backend } from '../backend/backend.js';
import { ObjectNotFoundError } from '../backend/store-error.js';
import { MASTER_KEY_BYTES, type ScryptParams } from '../codec/master-key.js';
import type { Clock } from '../core/clock.js';
import { PrismError } from '../errors/index.js';
import { currentGeneration, readKeyFiles, unlockWithMaster, writeKeyFile, type KeyFileEntry } from './keyring.js';
import { REPO_CONFIG, keyFileName } from './layout.js';
import { openBackend, type StoreOptions } from './open-backend.js';
import { repoConfigSchema } from './repo-config.js';
import { Repository, backendOf } from './repository.js';

/*
 * The key files of an open encrypted repository, for `prism key list|add|remove|passwd|import`.
 * The master keys and keyrings are keyring.ts's; here only key files are added and removed.
 */

/**
 * - `current`: wraps the current master key (opens the repository);
 * - `retired`: wraps an older master key (`prism key rotate` retired it: it no longer opens the repository);
 * - `unfinished`: of a generation newer than the current keyring (a rotation that died before it finished);
 * - `unusable`: malformed, an unknown kind or parameters out of bounds.
 */
export type KeyState = 'current' | 'retired' | 'unfinished' | 'unusable';

export interface KeyListing {
  id: string;
  state: KeyState;
  /** The key file this process opened the repository with. */
  in_use: boolean;
  generation?: number;
  created?: string;
  kdf?: { name: 'scrypt' } & ScryptParams;
  /** Why an unusable key file cannot be used. */
  error?: string;
}

export interface KeyList {
  /** The current master key's generation. */
  generation: number;
  keys: KeyListing[];
}

function assertEncrypted(repo: Repository): NonNullable<Repository['unlocked']> {
  if (!repo.unlocked) {
    throw new PrismError(
      'KEY_REFUSED',
      `The repository at ${repo.location} is not encrypted: it has no keys. Encryption is chosen when a repository is created (\`prism init --encrypt\`, or backup.encryption.enabled before the first backup).`,
      { path: repo.location },
    );
  }
  return repo.unlocked;
}

function stateOf(f: KeyFileEntry, current: number): KeyState {
  if (!f.record) return 'unusable';
  if (f.record.generation === current) return 'current';
  return f.record.generation < current ? 'retired' : 'unfinished';
}

/** Every key file of the repository, with its state; the current ones first, then by creation time. */
export async function listKeyFiles(repo: Repository): Promise<KeyList> {
  const u = assertEncrypted(repo);
  const backend = backendOf(repo);
  const current = await currentGeneration(backend);
  const order: Record<KeyState, number> = { current: 0, unfinished: 1, retired: 2, unusable: 3 };
  const keys = (await readKeyFiles(backend)).map((f): KeyListing => {
    const r = f.record;
    return {
      id: f.id,
      state: stateOf(f, current),
      in_use: f.id === u.keyId,
      ...(r ? { generation: r.generation, created: r.created, kdf: { name: 'scrypt' as const, N: r.N, r: r.r, p: r.p } } : {}),
      ...(f.error !== undefined ? { error: f.error } : {}),
    };
  });
  keys.sort((a, b) => order[a.state] - order[b.state] || (a.created ?? '').localeCompare(b.created ?? '') || a.id.localeCompare(b.id));
  return { generation: current, keys };
}

/** Wraps the open repository's current master key under `password` in a new key file; returns its id. */
export async function addKeyFile(repo: Repository, password: Uint8Array, params: ScryptParams, now: Date): Promise<string> {
  const u = assertEncrypted(repo);
  return writeKeyFile(backendOf(repo), repo.config, u, password, params, now);
}

/**
 * Removes key file `id` (or the one key whose id starts with it). Refused (KEY_REFUSED, nothing
 * changed): an id `prism key list` does not show, the key this process opened the repository with
 * (unless `inUse`: `prism key passwd`, which has just added its replacement), and the last usable
 * key file of the current master key. Returns the full id.
 */
export async function removeKeyFile(repo: Repository, id: string, opts: { inUse?: boolean } = {}): Promise<string> {
  const u = assertEncrypted(repo);
  const backend = backendOf(repo);
  const files = await readKeyFiles(backend);
  const matches = /^[0-9a-f]{1,16}$/.test(id) ? files.filter((f) => f.id.startsWith(id)) : [];
  if (matches.length !== 1) {
    throw new PrismError(
      'KEY_REFUSED',
      matches.length === 0
        ? `No key ${JSON.stringify(id)} in the repository at ${repo.location}: \`prism key list\` shows the ids of its keys.`
        : `${JSON.stringify(id)} is the start of ${matches.length} key ids (${matches.map((f) => f.id).join(', ')}): give more of it (\`prism key list\`).`,
      { key: id },
    );
  }
  const target = matches[0]!;
  if (target.id === u.keyId && !opts.inUse) {
    throw new PrismError(
      'KEY_REFUSED',
      `Key ${target.id} is the one this command opened the repository with: open with another key to remove this one (give that key's password), or use \`prism key passwd\` to change this key's password.`,
      { key: target.id },
    );
  }
  const current = await currentGeneration(backend);
  const usableCurrent = (fs: KeyFileEntry[]) => fs.filter((f) => stateOf(f, current) === 'current');
  if (stateOf(target, current) === 'current' && usableCurrent(files).filter((f) => f.id !== target.id).length === 0) throw lastKey(target.id);
  const name = keyFileName(target.id);
  const bytes = await backend.get(name);
  await backend.delete(name);
  // Another process may have removed the other current key at the same time: then this one is put back.
  if (stateOf(target, current) === 'current' && usableCurrent(await readKeyFiles(backend)).length === 0) {
    await backend.putIfAbsent(name, bytes);
    throw lastKey(target.id);
  }
  return target.id;
}

function lastKey(id: string): PrismError {
  return new PrismError(
    'KEY_REFUSED',
    `Key ${id} is the last key of the repository's current master key: without it nothing opens the repository. Add another first with \`prism key add\`.`,
    { key: id },
  );
}

/** What opening a repository needs of `prism key export`'s output. */
export interface ExportedKey {
  repository: string;
  generation: number;
  master: Buffer;
}

/**
 * Opens the repository at `location` with an exported master key. Refused (KEY_REFUSED): a key of
 * another repository, or of a master key `prism key rotate` has retired since the export.
 */
export async function openWithMaster(location: string, clock: Clock, key: ExportedKey, store: StoreOptions = {}): Promise<Repository> {
  if (key.master.length !== MASTER_KEY_BYTES) throw new RangeError(`a master key has ${MASTER_KEY_BYTES} bytes`);
  return Repository.open(await openBackend(location, process.env, store), clock, {
    unlock: async (backend, config) => {
      if (key.repository !== config.id) {
        throw new PrismError(
          'KEY_REFUSED',
          `The key is one of repository ${key.repository}, not of the repository at ${location} (${config.id}). Nothing was changed.`,
          { repository: config.id, key_repository: key.repository },
        );
      }
      const current = await currentGeneration(backend);
      if (key.generation !== current) {
        throw new PrismError(
          'KEY_REFUSED',
          key.generation < current
            ? `The key is of master key generation ${key.generation}, which \`prism key rotate\` retired (the current generation is ${current}): it no longer opens the repository. Use an export made after the last rotation (export again after each \`prism key rotate\`). Nothing was changed.`
            : `The key is of master key generation ${key.generation}, but the repository at ${location} holds no keyring of it (its current generation is ${current}). Nothing was changed.`,
          { generation: key.generation, current },
        );
      }
      return unlockWithMaster(backend, config, key.master, current);
    },
  });
}

/** Whether there is a repository at `location`, and if so whether it is encrypted (read without a password). */
export async function repositoryKind(location: string): Promise<'none' | 'unencrypted' | 'encrypted'> {
  const backend: Backend = await openBackend(location);
  let raw: Buffer;
  try {
    raw = await backend.get(REPO_CONFIG);
  } catch (e) {
    if (e instanceof ObjectNotFoundError) return 'none';
    throw e;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new PrismError('REPO_CORRUPT', `${location}/${REPO_CONFIG} is not valid JSON.`, { object: REPO_CONFIG });
  }
  const result = v.safeParse(repoConfigSchema, parsed);
  if (!result.success) throw new PrismError('REPO_CORRUPT', `${location}/${REPO_CONFIG} is not a prism repository config.`, { object: REPO_CONFIG });
  return result.output.encryption ? 'encrypted' : 'unencrypted';
}
