import type { ScryptParams } from '../codec/master-key.js';
import { newMasterKey } from '../codec/master-key.js';
import type { Clock } from '../core/clock.js';
import { PrismError } from '../errors/index.js';
import type { IndexedBlob } from './blob-entry.js';
import type { FrameCompressor } from '../codec/compress.js';
import { supersedeBlobs } from './index-rewrite.js';
import { namesOf, type Backend } from '../backend/backend.js';
import { currentGeneration, readKeyFiles, writeKeyFile, writeKeyring, type Unlocked } from './keyring.js';
import { KEYRING_DIR, PACK_MAGIC, keyFileName, keyringName, packName } from './layout.js';
import { decodeTrailer } from './pack-format.js';
import { Repository, backendOf } from './repository.js';
import { SealedBackend } from './sealed-backend.js';

/*
 * `prism key rotate`: a new master key for everything written from now on.
 *
 * 1. A key file wrapping the new master key under the password in use is written (until step 2
 *    it is ignored: its generation has no keyring).
 * 2. The keyring of the new generation is created, holding the older master keys and what needs
 *    doing (`pending`). From here on the new key is the current one; key files of older
 *    generations are retired. Older keyrings are deleted.
 * 3. Every metadata object (index, manifests, records, state) is sealed again with the new key.
 * 4. With `rewriteData`, every pack sealed with an older key is copied frame by frame into new
 *    packs (opened and sealed again, never decompressed), a batch at a time: new packs, then an
 *    index naming them, then the old packs are deleted.
 * 5. The keyring is replaced without the pending work, and, once no pack of an older generation
 *    is left, without the older master keys.
 *
 * Killed at any point, the repository opens with the password (old key file until step 2, new
 * one after) and `prism key rotate` finishes the pending work instead of starting a new
 * generation. The caller holds the exclusive lock.
 */

export interface RotationProgress {
  phase: 'metadata' | 'data';
  done: number;
  total: number;
  bytes?: number;
}

export interface RotationResult {
  generation: number;
  /** False when an interrupted rotation was finished instead. */
  started: boolean;
  key_id: string | undefined;
  metadata_resealed: number;
  packs_rewritten: number;
  packs_left: number;
  /** Key files of older generations: their passwords no longer open the repository. */
  retired_keys: string[];
  /** Generations whose master keys the keyring still holds (packs not yet rewritten). */
  older_generations: number[];
}

const DATA_BATCH_PACKS = 32;

export async function rotateMasterKey(
  repo: Repository,
  opts: {
    password: Uint8Array;
    params: ScryptParams;
    clock: Clock;
    rewriteData: boolean;
    compressor: FrameCompressor;
    onProgress?: (p: RotationProgress) => void;
    signal?: AbortSignal;
  },
): Promise<RotationResult> {
  const old = repo.unlocked;
  if (!old) throw new PrismError('KEY_REFUSED', `The repository at ${repo.location} is not encrypted: there is no key to rotate.`);
  const raw = rawBackend(repo);
  let u: Unlocked;
  let keyId = old.keyId;
  const started = !old.pending;
  if (started) {
    // key files of a generation that never got its keyring (a rotation killed at step 1)
    for (const f of await readKeyFiles(raw)) if (f.record && f.record.generation > old.generation) await raw.delete(keyFileName(f.id));
    u = {
      generation: old.generation + 1,
      master: newMasterKey(),
      keyId: undefined,
      older: { ...old.older, [old.generation]: old.master.toString('hex') },
      idKey: old.idKey,
      chunkerSeed: old.chunkerSeed,
      pending: opts.rewriteData ? 'metadata+data' : 'metadata',
    };
    keyId = u.keyId = await writeKeyFile(raw, repo.config, u, opts.password, opts.params, opts.clock.now());
    if (!(await writeKeyring(raw, repo.config, u, 'create'))) {
      await raw.delete(keyFileName(keyId));
      throw new PrismError('KEY_REFUSED', `Another rotation created generation ${u.generation} meanwhile; run \`prism key rotate\` again.`);
    }
    if (old.keyId) await raw.delete(keyFileName(old.keyId));
  } else {
    u = { ...old, pending: opts.rewriteData && old.pending === 'metadata' ? 'metadata+data' : old.pending };
  }
  for (const { name } of await raw.list(KEYRING_DIR)) if (name !== keyringName(u.generation)) await raw.delete(name);

  const result: RotationResult = {
    generation: u.generation,
    started,
    key_id: keyId,
    metadata_resealed: 0,
    packs_rewritten: 0,
    packs_left: 0,
    retired_keys: [],
    older_generations: [],
  };
  let current = await Repository.open(raw, opts.clock, { unlocked: u });
  if (u.pending === 'metadata' || u.pending === 'metadata+data') {
    result.metadata_resealed = await resealMetadata(current, opts);
    u = { ...u, pending: u.pending === 'metadata+data' ? 'data' : undefined };
    await writeKeyring(raw, repo.config, u, 'replace');
  }
  if (u.pending === 'data' || opts.rewriteData) {
    const r = await rewriteOldPacks(current, opts);
    result.packs_rewritten = r.rewritten;
    current = await Repository.open(raw, opts.clock, { unlocked: u });
    if ((await packsOfOlderGenerations(current)).length === 0) u = { ...u, older: {}, pending: undefined };
    await writeKeyring(raw, repo.config, u, 'replace');
  }
  result.packs_left = (await packsOfOlderGenerations(current)).length;
  result.older_generations = Object.keys(u.older).map(Number);
  const generation = await currentGeneration(raw);
  for (const f of await readKeyFiles(raw)) if (f.record && f.record.generation < generation) result.retired_keys.push(f.id);
  return result;
}

/** Seals every metadata object of an older generation again with the current key. */
async function resealMetadata(repo: Repository, opts: { onProgress?: (p: RotationProgress) => void; signal?: AbortSignal }): Promise<number> {
  const sealed = backendOf(repo) as SealedBackend;
  const names: string[] = [];
  for (const dir of ['index', 'snapshots', 'pg', 'mysql', 'state', 'damaged']) names.push(...namesOf(await sealed.list(dir)));
  let resealed = 0;
  for (const [i, name] of names.entries()) {
    opts.signal?.throwIfAborted();
    if (await sealed.reseal(name)) resealed++;
    opts.onProgress?.({ phase: 'metadata', done: i + 1, total: names.length });
  }
  return resealed;
}

/** Indexed packs whose frames an older key sealed (read from each pack's first frame header). */
async function packsOfOlderGenerations(repo: Repository): Promise<string[]> {
  const index = await repo.loadIndex();
  const raw = rawBackend(repo);
  const packs = new Set<string>();
  for (const b of index.entries()) packs.add(b.pack);
  const out: string[] = [];
  for (const pack of packs) {
    // the seal header of the first frame (or of the trailer): scheme byte, then the generation
    const head = await raw.getRange(packName(pack), PACK_MAGIC.length, 5);
    if (head.length < 5 || head.readUInt32LE(1) !== repo.crypt.generation) out.push(pack);
  }
  return out.sort();
}

/** Copies the packs of older generations into new ones, a batch at a time (see the steps above). */
async function rewriteOldPacks(
  start: Repository,
  opts: { clock: Clock; compressor: FrameCompressor; onProgress?: (p: RotationProgress) => void; signal?: AbortSignal },
): Promise<{ rewritten: number }> {
  let repo = start;
  const todo = await packsOfOlderGenerations(repo);
  let rewritten = 0;
  let bytes = 0;
  for (let i = 0; i < todo.length; i += DATA_BATCH_PACKS) {
    const batch = todo.slice(i, i + DATA_BATCH_PACKS);
    const index = await repo.loadIndex();
    const indexed = new Map<string, Set<string>>();
    for (const b of index.entries())
      if (batch.includes(b.pack)) (indexed.get(b.pack) ?? indexed.set(b.pack, new Set()).get(b.pack)!).add(`${b.id}:${b.frameOffset}`);
    const writer = repo.packWriter(opts.compressor);
    const copies: IndexedBlob[] = [];
    try {
      for (const pack of batch) {
        opts.signal?.throwIfAborted();
        const buf = await repo.readPack(pack);
        const keep = indexed.get(pack)!;
        for (const f of decodeTrailer(buf, repo.crypt).frames) {
          const blobs = f.b.filter(([, id]) => keep.has(`${id}:${f.o}`));
          if (blobs.length === 0) continue;
          writer.addFrame(repo.crypt.openFrame(buf.subarray(f.o, f.o + f.l)), f.c, f.r, blobs);
          await writer.maybeFlush();
          copies.push(...writer.takeWritten());
        }
        bytes += buf.length;
        opts.onProgress?.({ phase: 'data', done: rewritten + batch.indexOf(pack) + 1, total: todo.length, bytes });
      }
      copies.push(...(await writer.finish()));
    } catch (e) {
      await writer.abort();
      throw e;
    }
    await supersedeBlobs(repo, copies, new Set());
    const raw = rawBackend(repo);
    const written = new Set(copies.map((b) => b.pack));
    for (const pack of batch) if (!written.has(pack)) await raw.delete(packName(pack));
    rewritten += batch.length;
    repo = await Repository.open(raw, opts.clock, { unlocked: repo.unlocked! });
  }
  return { rewritten };
}

/** The backend below the sealing layer (keys, keyrings and packs pass through it unchanged). */
function rawBackend(repo: Repository): Backend {
  const b = backendOf(repo);
  return b instanceof SealedBackend ? b.innerBackend : b;
}
