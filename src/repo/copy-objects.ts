import * as v from 'valibot';
import type { Backend, ReadBuffer } from '../backend/backend.js';
import { ObjectNotFoundError } from '../backend/store-error.js';
import type { FrameCompressor } from '../codec/compress.js';
import { sha256Hex } from '../codec/hash.js';
import { calibrateScrypt, type ScryptParams } from '../codec/master-key.js';
import type { Clock } from '../core/clock.js';
import type { PasswordSource } from '../core/password-source.js';
import { PrismError, fromSystemError } from '../errors/index.js';
import type { IndexedBlob } from './blob-entry.js';
import { createKeys } from './keyring.js';
import { KEYRING_DIR, KEYS_DIR, REPO_CONFIG, packName } from './layout.js';
import { decodeTrailer } from './pack-format.js';
import { newRepoConfig, repoConfigSchema } from './repo-config.js';
import { backendOf, Repository } from './repository.js';

/**
 * A copy of a repository (`prism backup copy`) is a repository of its own that shares the
 * primary's config (its id and chunker) and keys, so that packs move as they are: the same
 * bytes under the same names, never decoded. Its index files, manifests and records are its own,
 * written by the copy as it goes, so that it is valid after every step.
 *
 * A copy with a key of its own (openOwnKeyCopy) has its own id and master key but the primary's
 * blob-id key and chunker seed, so that blob ids are the same in both and deduplication holds;
 * its packs are the primary's frames sealed again under its key (resealPacks), never decompressed.
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
    await refuseUnlessEmpty(backend, new Set(sourceKeys.map((o) => o.name)));
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
 * Opens the copy of the encrypted `source` at `backend` that has a master key of its own, under
 * `password`; an empty location is made one (config first, then its keys: killed in between, the
 * next run writes the keys). A location holding a repository whose blob ids differ from the
 * primary's is another repository (COPY_MISMATCH).
 */
export async function openOwnKeyCopy(backend: Backend, source: Repository, password: PasswordSource, clock: Clock, kdf?: ScryptParams): Promise<Repository> {
  const shared = source.unlocked;
  if (!shared) {
    throw new PrismError(
      'COPY_MISMATCH',
      `A copy with a key of its own (password_file) is made of an encrypted repository only, and ${source.location} is not encrypted: drop password_file (the copy then holds the primary's data as it is), or make the primary encrypted (\`prism init --encrypt\` in a new location).`,
      { path: backend.location },
    );
  }
  let raw = await readConfig(backend);
  if (raw === undefined) {
    await refuseUnlessEmpty(backend);
    const fresh = { ...newRepoConfig(clock.now(), { encrypted: true }), chunker: source.config.chunker };
    const bytes = Buffer.from(JSON.stringify(fresh, null, 2) + '\n');
    raw = (await backend.putIfAbsent(REPO_CONFIG, bytes)) ? bytes : await backend.get(REPO_CONFIG);
  }
  const parsed = v.safeParse(repoConfigSchema, JSON.parse(raw.toString('utf8')));
  if (!parsed.success || !parsed.output.encryption) {
    throw new PrismError('COPY_MISMATCH', `${backend.location} holds a repository that is not an encrypted copy of ${source.location}: nothing was copied.`, {
      path: backend.location,
    });
  }
  if ((await backend.list(KEYRING_DIR)).length === 0) {
    const pw = await password.read(`Password for the copy at ${backend.location}: `, { confirm: true });
    await createKeys(backend, parsed.output, pw, kdf ?? (await calibrateScrypt()), clock.now(), { idKey: shared.idKey, chunkerSeed: shared.chunkerSeed });
  }
  const copy = await Repository.open(backend, clock, { config: raw, password });
  if (copy.unlocked?.idKey !== shared.idKey) {
    throw new PrismError(
      'COPY_MISMATCH',
      `${backend.location} holds another encrypted repository, not a copy of ${source.location}: nothing was copied. Point the copy at an empty location.`,
      { path: backend.location },
    );
  }
  return copy;
}

/**
 * Writes the blobs of the packs `ids` of `source` into new packs of `dest`, each frame opened with
 * the primary's key and sealed with the copy's (the bytes are checked against the pack id first).
 * Returns the index entries of the new packs, for the blobs the primary's index places there.
 */
export async function resealPacks(
  source: Repository,
  dest: Repository,
  ids: readonly string[],
  compressor: FrameCompressor,
  onPack: (bytes: number) => void,
): Promise<IndexedBlob[]> {
  const wanted = new Set(ids);
  const kept = new Set<string>();
  for (const b of source.index.entries()) if (wanted.has(b.pack)) kept.add(`${b.pack}:${b.id}:${b.frameOffset}`);
  const writer = dest.packWriter(compressor);
  const out: IndexedBlob[] = [];
  try {
    for (const id of ids) {
      const buf = await verifiedPack(source, id);
      for (const f of decodeTrailer(buf, source.crypt).frames) {
        const blobs = f.b.filter(([, blob]) => kept.has(`${id}:${blob}:${f.o}`));
        if (blobs.length === 0) continue;
        writer.addFrame(source.crypt.openFrame(buf.subarray(f.o, f.o + f.l)), f.c, f.r, blobs);
        await writer.maybeFlush();
        out.push(...writer.takeWritten());
      }
      onPack(buf.length);
    }
    out.push(...(await writer.finish()));
  } catch (e) {
    await writer.abort();
    throw e;
  }
  return out;
}

/**
 * Copies the pack `id` from `source` into `dest` as it is, after checking that its bytes are
 * the pack (their SHA-256 is its id): damage is never carried into a copy. Returns its size.
 * With `into`, the pack is read into that buffer (reused from one pack to the next).
 */
export async function copyPack(source: Repository, dest: Repository, id: string, into?: ReadBuffer): Promise<number> {
  const bytes = await verifiedPack(source, id, into);
  await backendOf(dest).put(packName(id), bytes);
  return bytes.length;
}

/** The pack's bytes, checked against its id: damage is never carried into a copy. */
async function verifiedPack(source: Repository, id: string, into?: ReadBuffer): Promise<Buffer> {
  const bytes = await source.readPack(id, into);
  if (sha256Hex(bytes) !== id) {
    throw new PrismError(
      'REPO_CORRUPT',
      `Pack ${id.slice(0, 12)} in ${source.location} is damaged (its content does not match its id): it was not copied. Run \`prism backup verify --all\` and \`prism backup repair\` on the primary, then copy again.`,
      { pack: id },
    );
  }
  return bytes;
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

/** A location without config.json that holds anything but locks (and `allowed`: the keys a killed creation left) is not for a copy. */
async function refuseUnlessEmpty(backend: Backend, allowed: ReadonlySet<string> = new Set()): Promise<void> {
  const entries = (await backend.list('')).filter((o) => !o.name.startsWith('locks/') && !allowed.has(o.name));
  if (entries.length > 0) {
    throw new PrismError(
      'COPY_MISMATCH',
      `${backend.location} is not empty and holds no prism repository: a copy is made only into an empty location or an earlier copy of this repository.`,
      { path: backend.location },
    );
  }
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
