import type { Backend } from '../backend/backend.js';
import { ObjectNotFoundError } from '../backend/store-error.js';
import { sha256Hex } from '../codec/hash.js';
import type { Clock } from '../core/clock.js';
import { PrismError, fromSystemError } from '../errors/index.js';
import { KEYRING_DIR, KEYS_DIR, REPO_CONFIG, packName } from './layout.js';
import { backendOf, Repository } from './repository.js';

/**
 * A copy of a repository (`prism backup copy`) is a repository of its own that shares the
 * primary's config (its id and chunker) and keys, so that packs move as they are: the same
 * bytes under the same names, never decoded. Its index files, manifests and records are its own,
 * written by the copy as it goes, so that it is valid after every step.
 */

/**
 * Opens the copy of `source` at `backend`, creating it if the location is empty: the primary's
 * config.json, key files and keyrings are written there first. Key files and keyrings the primary
 * gained since (`prism key add`, `prism key rotate`) are added; nothing is ever removed from the copy.
 */
export async function openCopy(backend: Backend, source: Repository, clock: Clock): Promise<Repository> {
  const src = backendOf(source);
  const [config, existing, sourceKeys] = await Promise.all([src.get(REPO_CONFIG), readConfig(backend), keyObjects(src)]);
  if (existing === undefined) {
    const entries = (await backend.list('')).filter((o) => !o.name.startsWith('locks/'));
    if (entries.length > 0) {
      throw new PrismError(
        'COPY_MISMATCH',
        `${backend.location} is not empty and holds no prism repository: a copy is made only into an empty location or an earlier copy of this repository.`,
        { path: backend.location },
      );
    }
  } else if (repositoryId(existing) !== source.config.id) {
    throw new PrismError(
      'COPY_MISMATCH',
      `${backend.location} holds another repository (id ${repositoryId(existing) ?? 'unreadable'}), not a copy of ${source.location} (id ${source.config.id}): nothing was copied. Point the copy at an empty location.`,
      { path: backend.location, id: repositoryId(existing) },
    );
  }
  // keys before the config: a location with config.json is a repository whose keys are all there
  if (sourceKeys.length > 0) {
    const have = new Set((await keyObjects(backend)).map((o) => o.name));
    for (const { name } of sourceKeys) if (!have.has(name)) await backend.putIfAbsent(name, await src.get(name));
  }
  if (existing === undefined) {
    try {
      await backend.putIfAbsent(REPO_CONFIG, config);
    } catch (e) {
      throw fromSystemError(e, `creating the copy at ${backend.location}`);
    }
  }
  return Repository.open(backend, clock, { config: existing ?? config, ...(source.unlocked ? { unlocked: source.unlocked } : {}) });
}

/** Key files and keyrings (none in an unencrypted repository). */
async function keyObjects(backend: Backend): Promise<Array<{ name: string }>> {
  const [keys, keyrings] = await Promise.all([backend.list(KEYS_DIR), backend.list(KEYRING_DIR)]);
  return [...keys, ...keyrings];
}

/**
 * Copies the pack `id` from `source` into `dest` as it is, after checking that its bytes are
 * the pack (their SHA-256 is its id): damage is never carried into a copy. Returns its size.
 */
export async function copyPack(source: Repository, dest: Repository, id: string): Promise<number> {
  const bytes = await source.readPack(id);
  if (sha256Hex(bytes) !== id) {
    throw new PrismError(
      'REPO_CORRUPT',
      `Pack ${id.slice(0, 12)} in ${source.location} is damaged (its content does not match its id): it was not copied. Run \`prism backup verify --all\` and \`prism backup repair\` on the primary, then copy again.`,
      { pack: id },
    );
  }
  await backendOf(dest).put(packName(id), bytes);
  return bytes.length;
}

/** Names of the objects under `dir` (e.g. `pg/wal`), for records copied as they are. */
export async function objectNames(repo: Repository, dir: string): Promise<string[]> {
  return (await backendOf(repo).list(dir)).map((o) => o.name);
}

/**
 * Copies the record `name` (a manifest, a WAL or binary log record) unless the copy has it: read
 * (and opened) from `source`, written (and sealed) into `dest`. False when it was there.
 */
export async function copyRecord(source: Repository, dest: Repository, name: string): Promise<boolean> {
  const bytes = await backendOf(source).get(name);
  try {
    JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new PrismError('REPO_CORRUPT', `${source.location}/${name} is damaged (not JSON): it was not copied.`, { object: name });
  }
  return backendOf(dest).putIfAbsent(name, bytes);
}

async function readConfig(backend: Backend): Promise<Buffer | undefined> {
  try {
    return await backend.get(REPO_CONFIG);
  } catch (e) {
    if (e instanceof ObjectNotFoundError) return undefined;
    throw fromSystemError(e, `reading ${backend.location}/${REPO_CONFIG}`);
  }
}

function repositoryId(raw: Buffer): string | undefined {
  try {
    const id = (JSON.parse(raw.toString('utf8')) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}
