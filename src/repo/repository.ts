import * as v from 'valibot';
import { spaceOf, type Backend, type ObjectInfo, type ReadBuffer, type Space, type UnfinishedScope } from '../backend/backend.js';
import { retainingOf } from '../backend/retaining.js';
import { ObjectNotFoundError } from '../backend/store-error.js';
import type { FrameCompressor } from '../codec/compress.js';
import { sha256Hex } from '../codec/hash.js';
import { calibrateScrypt, type ScryptParams } from '../codec/master-key.js';
import type { Clock } from '../core/clock.js';
import { fetchInOrder } from '../core/in-order.js';
import type { MessagePort } from 'node:worker_threads';
import { servePackUploads } from './pack-upload-port.js';
import type { PasswordSource } from '../core/password-source.js';
import { PrismError, fromSystemError, isRetained, retainedUntil } from '../errors/index.js';
import { BLOB_TYPE, type BlobLocation, type IndexedBlob } from './blob-entry.js';
import { BlobIndex, type SharedBlobIndex } from './blob-index.js';
import { Crypt } from './crypt.js';
import { loadDamagedCopies, recordDamagedCopies } from './damaged-blobs.js';
import { IndexDecodeError, decodeIndex, encodeIndex } from './index-file.js';
import { createKeys, cryptSecrets, currentGeneration, unlockWithMaster, unlockWithPassword, type Unlocked } from './keyring.js';
import { FORMAT_VERSION, KEYRING_DIR, KEYS_DIR, REPO_CONFIG, indexName, packIdOf, packName, snapshotName } from './layout.js';
import { RepositoryLock, backupLockHeld, type LockKind } from './lock.js';
import { manifestSchema, type Manifest } from './manifest.js';
import { PackWriter } from './pack-writer.js';
import { parseRecord } from './record.js';
import { newRepoConfig, repoConfigSchema, type RepoConfig } from './repo-config.js';
import { FrameDecoder, FrameReuse } from './frame-decoder.js';
import { PlannedReads, type PlanOptions } from './planned-reads.js';
import { parseLocation } from '../backend/location.js';
import type { StoreOptions } from './open-backend.js';
import { SealedBackend } from './sealed-backend.js';
import { decodeTree, type Tree } from './tree.js';

const FRAME_CACHE_BYTES = 8 * 1024 * 1024;

/** A repository's loaded index as it is handed to a worker thread (see Repository.shareIndex). */
export interface SharedIndex {
  index: SharedBlobIndex;
  /** Blob ids with the packs whose copy of them is recorded as damaged. */
  damaged: Array<[string, string[]]>;
}

/** A prism repository on a backend: config, index, blobs, trees, manifests, locks. */
/** Small metadata objects (index files, manifests) read at once from the store. */
const METADATA_READS = 16;

export class Repository {
  private blobIndex = new BlobIndex();
  private indexLoaded = false;
  /** blob id → packs holding a copy found damaged (left out of the index). */
  private damaged = new Map<string, Set<string>>();
  /** Index entries left out because their copy is recorded as damaged. */
  private readonly damagedEntries = new Map<string, IndexedBlob[]>();
  private readonly frameCache = new Map<string, Buffer>();
  private frameCacheBytes = 0;
  /** Whether this open created the repository (with `create`, at a location that held none). */
  created = false;
  /**
   * Records and manifests whose delete the store refused in this process because they are under
   * retention (object lock), with the date they can go: maintenance must not extend what prism
   * wants gone (object-retention.ts).
   */
  readonly retainedDeletes = new Map<string, Date | undefined>();

  private constructor(
    private readonly backend: Backend,
    readonly config: RepoConfig,
    private readonly clock: Clock,
    /** Blob ids and sealing (Crypt.NONE for an unencrypted repository). */
    readonly crypt: Crypt = Crypt.NONE,
    /** The keys an encrypted repository was opened with (for key commands and worker threads). */
    readonly unlocked?: Unlocked,
  ) {}

  /** Every blob's location (filled by loadIndex or adoptIndex). */
  get index(): BlobIndex {
    return this.blobIndex;
  }

  /** The seed of the chunker's gear table (kept in the keyring of an encrypted repository). */
  get chunkerSeed(): string {
    return this.unlocked?.chunkerSeed ?? this.config.chunker.seed!;
  }

  /**
   * Opens the repository; with `create`, initialises an empty or missing location (encrypted when
   * `encrypt` is given). An encrypted repository is opened with `password`, or with keys already
   * unlocked (`unlocked`: a worker thread, or `prism key import`).
   */
  static async open(backend: Backend, clock: Clock, opts: OpenOptions = {}): Promise<Repository> {
    if (opts.opened) return Repository.asOpened(backend, clock, opts.opened, opts.unlocked);
    let raw: Buffer | undefined = opts.config;
    if (!raw)
      try {
        raw = await backend.get(REPO_CONFIG);
      } catch (e) {
        if (!(e instanceof ObjectNotFoundError)) throw fromSystemError(e, `reading the repository at ${backend.location}`);
      }
    if (raw === undefined) {
      if (!opts.create) {
        throw new PrismError('REPO_NOT_FOUND', `No prism repository at ${backend.location}.`, { path: backend.location });
      }
      const entries = (await backend.list('')).filter((o) => !o.name.startsWith('locks/'));
      if (entries.length > 0) {
        // another process may have just created the repository here
        if (await backend.exists(REPO_CONFIG)) return Repository.open(backend, clock, { ...opts, create: false });
        throw new PrismError(
          'REPO_NOT_FOUND',
          `${backend.location} is not empty and holds no prism repository (no ${REPO_CONFIG}); point PRISM_BACKUP_PATH or backup.storage_path at an empty or new directory.`,
          { path: backend.location },
        );
      }
      const encrypt = opts.encrypt && (await encryptionInputs(opts.encrypt, backend.location));
      const config = newRepoConfig(clock.now(), { encrypted: encrypt !== undefined });
      let created: boolean;
      try {
        created = await backend.putIfAbsent(REPO_CONFIG, Buffer.from(JSON.stringify(config, null, 2) + '\n'));
      } catch (e) {
        throw fromSystemError(e, `creating the repository at ${backend.location}`);
      }
      // two first backups at once: the one that lost opens the winner's repository
      if (!created) return Repository.open(backend, clock, { ...opts, create: false });
      let repo: Repository;
      if (encrypt) {
        const u = await createKeys(backend, config, encrypt.password, encrypt.params, clock.now());
        repo = Repository.sealed(backend, config, clock, u);
      } else repo = new Repository(backend, config, clock);
      repo.created = true;
      return repo;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new PrismError('REPO_CORRUPT', `${backend.location}/${REPO_CONFIG} is not valid JSON.`, { object: REPO_CONFIG });
    }
    const result = v.safeParse(repoConfigSchema, parsed);
    if (!result.success) {
      throw new PrismError('REPO_CORRUPT', `${backend.location}/${REPO_CONFIG} is not a prism repository config.`, { object: REPO_CONFIG });
    }
    if (result.output.version > FORMAT_VERSION) {
      throw new PrismError('REPO_VERSION', `Repository format ${result.output.version} is newer than this prism supports (${FORMAT_VERSION}).`);
    }
    const config = result.output;
    if (!config.encryption) {
      await refuseKeysWithoutEncryption(backend);
      return new Repository(backend, config, clock);
    }
    let u = opts.unlocked ?? (opts.unlock ? await opts.unlock(backend, config) : await unlockFromCache(opts.keyCache, backend, config));
    if (u)
      u = { ...u, master: Buffer.from(u.master) }; // a worker's copy arrives as a Uint8Array
    else {
      if (!opts.password) {
        throw new PrismError(
          'PASSWORD_MISSING',
          `The repository at ${backend.location} is encrypted and no password was given: set PRISM_PASSWORD_FILE or PRISM_PASSWORD_COMMAND, provide the systemd credential prism-password, or run in a terminal to be asked.`,
          { path: backend.location },
        );
      }
      u = await unlockWithPassword(
        backend,
        config,
        await opts.password.read(`Password for the repository at ${backend.location}: `),
        opts.password.origin,
        opts.keyHint,
        opts.whileDeriving,
      );
    }
    opts.keyCache?.set(cacheKey(backend, config), { master: Buffer.from(u.master), generation: u.generation, keyId: u.keyId });
    return Repository.sealed(backend, config, clock, u);
  }

  /** A repository another thread opened and checked, from its config and keys: nothing is read from the store. */
  private static asOpened(backend: Backend, clock: Clock, config: RepoConfig, unlocked: Unlocked | undefined): Repository {
    if (!config.encryption) return new Repository(backend, config, clock);
    if (!unlocked) throw new Error(`the encrypted repository at ${backend.location} was handed over without its keys`);
    return Repository.sealed(backend, config, clock, { ...unlocked, master: Buffer.from(unlocked.master) }); // a worker's copy arrives as a Uint8Array
  }

  /** An encrypted repository opened with its keys: everything read and written through a SealedBackend. */
  private static sealed(backend: Backend, config: RepoConfig, clock: Clock, u: Unlocked): Repository {
    const crypt = Crypt.from(cryptSecrets(u));
    return new Repository(new SealedBackend(backend, crypt), config, clock, crypt, u);
  }

  lock(
    kind: LockKind,
    command: string,
    waitMs = 0,
    onWait?: Parameters<typeof RepositoryLock.acquire>[1]['onWait'],
    backupHost?: string,
  ): Promise<RepositoryLock> {
    return RepositoryLock.acquire(this.backend, {
      kind,
      command,
      clock: this.clock,
      waitMs,
      ...(onWait ? { onWait } : {}),
      ...(backupHost ? { backupHost } : {}),
    });
  }

  /** True while a live process holds the backup lock of `host` (so a `running` manifest of that host is really running). */
  backupLockHeld(host: string): Promise<boolean> {
    return backupLockHeld(this.backend, this.clock, host);
  }

  /** Where the repository lives, for messages. */
  get location(): string {
    return this.backend.location;
  }

  /** Uploads the packs of the worker thread at the other end of `port` (pack-upload-port.ts). */
  servePackUploads(port: MessagePort): void {
    servePackUploads(this.backend, port);
  }

  /** How the store was opened (backup.object_lock), for a worker thread that opens its own. */
  get storeOptions(): StoreOptions {
    const objectLock = retainingOf(this.backend)?.objectLock;
    return objectLock ? { objectLock } : {};
  }

  /** Bytes free and in total on the storage, where its store can tell (a local disk). */
  space(): Promise<Space | undefined> {
    return spaceOf(this.backend);
  }

  /** Removes unfinished pack writes (see Backend.removeUnfinished for `scope`). */
  removeUnfinishedPacks(scope?: UnfinishedScope): Promise<number> {
    return this.backend.removeUnfinished('data', scope);
  }

  /** A writer of new packs into this repository (the caller writes their index entries). */
  packWriter(compressor: FrameCompressor, packTarget?: number): PackWriter {
    return new PackWriter(this.backend, compressor, packTarget, this.crypt);
  }

  /** The last part of the name of every object under data/: a pack's id where it is one of ours. */
  async listPacks(): Promise<string[]> {
    return (await this.backend.list('data')).map((o) => packIdOf(o.name));
  }

  /** listPacks with each object's size in bytes. */
  async listPackSizes(): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const { name, size } of await this.backend.list('data')) out.set(packIdOf(name), size);
    return out;
  }

  /** A pack's stored bytes, whole (with `into`: possibly in that reused buffer, see Backend.get). */
  readPack(pack: string, into?: ReadBuffer): Promise<Buffer> {
    return this.backend.get(packName(pack), { into });
  }

  /** `length` bytes of a pack's stored bytes from `offset` (with `into`: possibly in that reused buffer, see Backend.get). */
  readPackRange(pack: string, offset: number, length: number, into?: ReadBuffer): Promise<Buffer> {
    return this.backend.getRange(packName(pack), offset, length, { into });
  }

  /** A pack's stored size in bytes. */
  packSize(pack: string): Promise<number> {
    return this.backend.size(packName(pack));
  }

  /** The JSON record `name` checked against `schema` (damage is REPO_CORRUPT naming it), or undefined when there is none. */
  async loadRecord<T>(name: string, schema: v.GenericSchema<unknown, T>): Promise<T | undefined> {
    let raw: Buffer;
    try {
      raw = await this.backend.get(name);
    } catch (e) {
      if (e instanceof ObjectNotFoundError) return undefined;
      throw e;
    }
    return parseRecord(schema, raw, name);
  }

  /**
   * Every record under `dir` (the names ending in .json). One that does not parse stops the
   * listing, or with `onDamaged` is passed there and left out.
   */
  async listRecords<T>(dir: string, schema: v.GenericSchema<unknown, T>, onDamaged?: (name: string, e: PrismError) => void): Promise<T[]> {
    const out: T[] = [];
    for (const { name: n } of await this.backend.list(dir)) {
      if (!n.endsWith('.json')) continue;
      try {
        out.push(parseRecord(schema, await this.backend.get(n), n));
      } catch (e) {
        if (!onDamaged || !(e instanceof PrismError)) throw e;
        onDamaged(n, e);
      }
    }
    return out;
  }

  /** Writes a record as JSON (`indent` as JSON.stringify's), replacing one of that name. */
  async saveRecord(name: string, value: unknown, indent?: number): Promise<void> {
    await this.backend.put(name, recordBytes(value, indent));
  }

  /** Writes a record unless one of that name exists (then false: it is never replaced). */
  createRecord(name: string, value: unknown, indent?: number): Promise<boolean> {
    return this.backend.putIfAbsent(name, recordBytes(value, indent));
  }

  /** Deletes a record. Under retention (object lock) the store refuses: OBJECT_RETAINED, and the record is noted in retainedDeletes. */
  async deleteRecord(name: string): Promise<void> {
    try {
      await this.backend.delete(name);
    } catch (e) {
      if (isRetained(e)) this.retainedDeletes.set(name, retainedUntil(e));
      throw e;
    }
  }

  /** Loads every index file into memory (once), leaving out copies recorded as damaged. */
  async loadIndex(): Promise<BlobIndex> {
    if (this.indexLoaded) return this.index;
    this.damaged = await loadDamagedCopies(this.backend);
    const names = (await this.backend.list('index')).map((o) => o.name);
    // fetched a batch at a time (round trips to a remote store overlap; at most a batch of files held), decoded in order
    for (let start = 0; start < names.length; start += METADATA_READS) {
      const batch = names.slice(start, start + METADATA_READS);
      const bufs = await fetchInOrder(batch, METADATA_READS, (name) => this.backend.get(name));
      for (const [i, name] of batch.entries()) this.addIndexFile(name, bufs[i]!);
    }
    this.indexLoaded = true;
    return this.index;
  }

  private addIndexFile(name: string, buf: Buffer): void {
    try {
      decodeIndex(buf, (b) => {
        if (!this.damaged.get(b.id)?.has(b.pack)) this.index.add(b);
        else this.damagedEntries.set(b.id, [...(this.damagedEntries.get(b.id) ?? []), b]);
      });
    } catch (e) {
      if (e instanceof IndexDecodeError) {
        throw new PrismError('INDEX_DAMAGED', `Index file ${name} is damaged: ${e.message}.`, { object: name });
      }
      throw e;
    }
  }

  /**
   * The loaded index in shared memory, with the copies recorded as damaged: a worker thread that
   * reads blobs takes it with adoptIndex instead of loading every index file again.
   */
  shareIndex(): SharedIndex {
    return { index: this.blobIndex.exportShared(), damaged: [...this.damaged].map(([id, packs]) => [id, [...packs]]) };
  }

  /** Takes the index another thread loaded (see shareIndex) in place of loadIndex. */
  adoptIndex(shared: SharedIndex): void {
    this.blobIndex = BlobIndex.fromShared(shared.index);
    this.damaged = new Map(shared.damaged.map(([id, packs]) => [id, new Set(packs)]));
    this.indexLoaded = true;
  }

  /** Where the index files put the copies of `id` recorded as damaged (left out of the loaded index). */
  damagedLocations(id: string): readonly IndexedBlob[] {
    return this.damagedEntries.get(id) ?? [];
  }

  /** True if the copy of `id` in `pack` is recorded as damaged. */
  isDamagedCopy(id: string, pack: string): boolean {
    return this.damaged.get(id)?.has(pack) ?? false;
  }

  /** True if `id` has a copy recorded as damaged (and so may be missing from the index). */
  hasDamagedCopy(id: string): boolean {
    return this.damaged.has(id);
  }

  /**
   * Records copies found damaged, so that from the next index load on no backup finds (and
   * deduplicates onto) them; they are stored afresh instead. Safe under any lock.
   */
  async recordDamaged(copies: ReadonlyArray<{ id: string; loc: Pick<BlobLocation, 'pack'>; reason: string }>): Promise<void> {
    if (copies.length === 0) return;
    await recordDamagedCopies(this.backend, copies, this.clock.now());
    for (const c of copies) {
      let packs = this.damaged.get(c.id);
      if (!packs) this.damaged.set(c.id, (packs = new Set()));
      packs.add(c.loc.pack);
    }
  }

  /** Writes an index file for new blobs and adds them to the in-memory index. */
  async writeIndex(blobs: readonly IndexedBlob[]): Promise<void> {
    if (blobs.length === 0) return;
    const buf = encodeIndex(blobs);
    await this.backend.put(indexName(sha256Hex(buf)), buf);
    for (const b of blobs) this.index.add(b);
  }

  /**
   * Reads a blob's plaintext and (unless `verify` is false) checks its SHA-256. A copy found
   * damaged (or in a pack that is gone) is recorded as such at once (see recordDamaged). With
   * `reuse` (see frameReuse), frames are read into that thread's reused buffers: the blob is then
   * valid only until the next read with it.
   */
  async readBlob(id: string, opts: { verify?: boolean; reuse?: FrameReuse } = {}): Promise<Buffer> {
    const loc = this.index.get(id);
    if (!loc) {
      if (this.damaged.has(id)) {
        throw new PrismError('CHECKSUM_MISMATCH', `Blob ${id.slice(0, 12)} was found damaged and dropped from the index; no intact copy is stored.`, {
          blob: id,
        });
      }
      throw new PrismError('REPO_CORRUPT', `Blob ${id.slice(0, 12)} is not in the repository index.`, { blob: id });
    }
    const frame = await this.readFrame(id, loc, opts.reuse);
    const data = frame.subarray(loc.blobOffset, loc.blobOffset + loc.blobLength);
    if (data.length !== loc.blobLength || (opts.verify !== false && !this.crypt.isBlob(data, id))) {
      throw await this.damagedCopy(
        id,
        loc,
        new PrismError('CHECKSUM_MISMATCH', `Checksum mismatch for blob ${id.slice(0, 12)} in pack ${loc.pack.slice(0, 12)}.`, { blob: id, pack: loc.pack }),
      );
    }
    return data;
  }

  /** Records the copy at `loc` as damaged (best effort) and returns `error` to throw. */
  private async damagedCopy(id: string, loc: BlobLocation, error: PrismError): Promise<PrismError> {
    await this.recordDamaged([{ id, loc, reason: error.message }]).catch(() => {});
    return error;
  }

  async readTree(id: string): Promise<Tree> {
    const data = await this.readBlob(id);
    try {
      return decodeTree(data);
    } catch (e) {
      throw new PrismError('REPO_CORRUPT', `Tree ${id.slice(0, 12)} cannot be decoded: ${(e as Error).message}`, { blob: id });
    }
  }

  /** Whether the repository is on a remote store (S3, Azure, SFTP): reads are requests, worth planning (planReads). */
  get remote(): boolean {
    try {
      return parseLocation(this.backend.location).kind !== 'local';
    } catch {
      return false;
    }
  }

  /**
   * The frames of `blobs` (content a thread will read in this order with readBlob and `reuse`),
   * fetched ahead pack by pack (planned-reads.ts); the caller closes the plan when done.
   */
  planReads(blobs: Iterable<string>, reuse: FrameReuse, opts: PlanOptions = {}): PlannedReads {
    const index = this.index;
    const locations = function* () {
      for (const id of blobs) {
        const loc = index.get(id);
        if (loc) yield loc;
      }
    };
    const plan = new PlannedReads(this.backend, locations(), opts);
    reuse.plan = plan;
    return plan;
  }

  /** Buffers for a thread that reads blob after blob, each used before the next is read (see readBlob). */
  frameReuse(): FrameReuse {
    return new FrameReuse(new FrameDecoder(this.crypt));
  }

  private async readFrame(id: string, loc: BlobLocation, reuse?: FrameReuse): Promise<Buffer> {
    const key = `${loc.pack}:${loc.frameOffset}`;
    const kept = reuse?.get(key);
    if (kept) return kept;
    const hit = reuse ? undefined : this.frameCache.get(key);
    if (hit) {
      this.frameCache.delete(key);
      this.frameCache.set(key, hit);
      return hit;
    }
    // a tree's frame may come from the local cache (metadata-cache.ts): one that does not open is read again from the store
    const keep = loc.type === BLOB_TYPE.tree;
    let frame: Buffer | undefined;
    for (let fresh = false; frame === undefined; fresh = true) {
      let stored: Buffer;
      try {
        stored =
          (await reuse?.plan?.take(loc)) ??
          (await this.backend.getRange(packName(loc.pack), loc.frameOffset, loc.frameLength, {
            into: reuse?.stored,
            ...(keep ? { keep, fresh } : {}),
          }));
      } catch (e) {
        if (e instanceof ObjectNotFoundError) {
          throw await this.damagedCopy(
            id,
            loc,
            new PrismError('REPO_CORRUPT', `Pack ${loc.pack.slice(0, 12)} is missing from the repository.`, { pack: loc.pack, blob: id }),
          );
        }
        throw new PrismError('REPO_CORRUPT', `Pack ${loc.pack.slice(0, 12)} cannot be read: ${(e as Error).message}`, { pack: loc.pack });
      }
      try {
        frame = reuse
          ? reuse.decode(key, loc.codec, stored, loc.frameRawLength, loc.blobOffset === 0 && loc.blobLength === loc.frameRawLength)
          : this.crypt.decodeFrame(loc.codec, stored, loc.frameRawLength);
      } catch (e) {
        if (keep && !fresh) continue;
        throw await this.damagedCopy(
          id,
          loc,
          new PrismError(
            'CHECKSUM_MISMATCH',
            `Frame at ${loc.frameOffset} of pack ${loc.pack.slice(0, 12)} cannot be ${this.crypt.encrypted ? 'opened or ' : ''}decompressed: ${(e as Error).message}`,
            {
              pack: loc.pack,
              blob: id,
            },
          ),
        );
      }
    }
    if (reuse) return frame;
    this.frameCache.set(key, frame);
    this.frameCacheBytes += frame.length;
    while (this.frameCacheBytes > FRAME_CACHE_BYTES && this.frameCache.size > 1) {
      const [oldKey, old] = this.frameCache.entries().next().value as [string, Buffer];
      this.frameCache.delete(oldKey);
      this.frameCacheBytes -= old.length;
    }
    return frame;
  }

  saveManifest(m: Manifest): Promise<void> {
    return this.saveRecord(snapshotName(m.id), m, 2);
  }

  /** Writes a new manifest unless one with its id exists (then false). */
  createManifest(m: Manifest): Promise<boolean> {
    return this.createRecord(snapshotName(m.id), m, 2);
  }

  deleteManifest(id: string): Promise<void> {
    return this.deleteRecord(snapshotName(id));
  }

  /** The manifests' names and sizes, none read: a cheap way to notice that the list of backups changed. */
  async manifestNames(): Promise<Array<{ name: string; size: number }>> {
    return (await this.backend.list('snapshots')).filter((o) => o.name.endsWith('.json')).map((o) => ({ name: o.name, size: o.size }));
  }

  /**
   * A text that stays the same while the snapshots folder does (Backend.folderVersion), once its
   * last change is older than any file system's timestamp granularity; undefined when the store
   * tells no version or the folder changed just now. Equal texts: the same manifests (names and sizes).
   */
  async manifestListVersion(): Promise<string | undefined> {
    const folder = await this.backend.folderVersion?.('snapshots');
    return folder && this.clock.now().getTime() - folder.changedMs > FOLDER_SETTLED_MS ? folder.version : undefined;
  }

  manifestExists(id: string): Promise<boolean> {
    return this.backend.exists(snapshotName(id));
  }

  async loadManifest(id: string): Promise<Manifest> {
    let raw: Buffer;
    try {
      raw = await this.backend.get(snapshotName(id));
    } catch (e) {
      if (e instanceof ObjectNotFoundError) {
        throw new PrismError('BACKUP_NOT_FOUND', `Backup ${id} not found in ${this.backend.location}.`, { id });
      }
      throw e;
    }
    return parseManifest(raw, snapshotName(id));
  }

  /**
   * All manifests, oldest first (but the one of `exceptId`). A damaged one is skipped (so one bad
   * file never blocks backups or listings) and reported through `onDamaged`.
   */
  async listManifests(
    onDamaged: (name: string, error: PrismError) => void = () => {},
    opts: { exceptId?: string; cache?: ManifestCache | undefined } = {},
  ): Promise<Manifest[]> {
    const out: Manifest[] = [];
    const except = opts.exceptId === undefined ? undefined : snapshotName(opts.exceptId);
    // a listing but one is not the whole listing: it neither uses nor keeps a cache
    const cache = except === undefined ? opts.cache : undefined;
    // the folder unchanged since the last listing, and not changed so recently that the store's clock could hide a change: the same manifests
    const folder = cache ? await this.backend.folderVersion?.('snapshots') : undefined;
    if (cache?.folder && folder && cache.folder.version === folder.version && this.clock.now().getTime() - folder.changedMs > FOLDER_SETTLED_MS) {
      return [...cache.folder.manifests];
    }
    if (cache) delete cache.folder;
    let damaged = false;
    const listed = (await this.backend.list('snapshots')).filter((o) => o.name.endsWith('.json') && o.name !== except);
    // with a cache: read only the manifests not seen at this version (new or rewritten); parsed ones are reused as they are
    const cached = (o: ObjectInfo) => {
      const hit = cache && o.version !== undefined ? cache.objects.get(o.name) : undefined;
      return hit && hit.version === o.version ? hit.manifest : undefined;
    };
    const unread = listed.filter((o) => cached(o) === undefined);
    const names = unread.map((o) => o.name);
    const read = await fetchInOrder(unread, METADATA_READS, (o) =>
      // the listing's entry lets a local copy answer (metadata-cache.ts)
      this.backend.get(o.name, { listed: o }).then(
        (raw) => ({ raw }),
        (error: unknown) => ({ error }),
      ),
    );
    const fresh = new Map<string, Manifest>();
    for (const [i, name] of names.entries()) {
      const r = read[i]!;
      try {
        if ('error' in r) throw r.error;
        fresh.set(name, parseManifest(r.raw, name));
      } catch (e) {
        damaged = true;
        if (e instanceof PrismError) onDamaged(name, e);
        else if (!(e instanceof ObjectNotFoundError)) throw e;
      }
    }
    const objects = cache?.objects;
    if (objects) {
      const seen = new Set(listed.map((o) => o.name));
      for (const name of objects.keys()) if (!seen.has(name)) objects.delete(name);
    }
    for (const o of listed) {
      const m = cached(o) ?? fresh.get(o.name);
      if (m === undefined) continue;
      out.push(m);
      if (objects && o.version !== undefined && fresh.has(o.name)) objects.set(o.name, { version: o.version, manifest: m });
      else if (objects && o.version === undefined) objects.delete(o.name);
    }
    out.sort((a, b) => (a.started_at < b.started_at ? -1 : a.started_at > b.started_at ? 1 : a.id < b.id ? -1 : 1));
    // a damaged manifest is told about at every listing: no shortcut past it
    if (cache && folder && !damaged) cache.folder = { version: folder.version, manifests: [...out] };
    return out;
  }
}

/**
 * Parsed manifests by object name, each with the store's version of its object (ObjectInfo.version):
 * listManifests re-reads only what is new or was written again. Hold one per repository; the
 * manifests in it are shared, read-only.
 */
export interface ManifestCache {
  objects: Map<string, { version: string; manifest: Manifest }>;
  /** The last listing, whole, with the version of the snapshots folder it was read at (stores that tell one: Backend.folderVersion). */
  folder?: { version: string; manifests: Manifest[] };
}

/** How long after a change of the snapshots folder its version is trusted: longer than any file system's timestamp granularity (FAT's 2 s). */
const FOLDER_SETTLED_MS = 2_500;

export interface OpenOptions {
  create?: boolean;
  /** With `create`: make the new repository encrypted, its first key from this password. */
  encrypt?: { password: PasswordSource; params?: ScryptParams };
  /** The password of an encrypted repository. */
  password?: PasswordSource;
  /**
   * Called once while the password's key derivation runs on the thread pool (only for an encrypted
   * repository opened with a password): work that needs no key, done meanwhile. It must not throw.
   */
  whileDeriving?: () => void;
  /** The id (or a prefix) of the key file to try first (PRISM_KEY_HINT). */
  keyHint?: string | undefined;
  /** Keys already unlocked (a worker thread's copy). */
  unlocked?: Unlocked;
  /** The repository's config.json as the caller has just read it (it is not read again). */
  config?: Buffer;
  /**
   * The config of the repository as the thread that started this worker opened (and checked) it:
   * nothing is read from the store (with `unlocked` for an encrypted one).
   */
  opened?: RepoConfig;
  /** Unlocks an encrypted repository from its config (`prism key import`: with an exported master key). */
  unlock?: (backend: Backend, config: RepoConfig) => Promise<Unlocked>;
  /**
   * Master keys this process has unlocked before (a long-lived process: the service, the dashboard):
   * a repository opened again is unlocked from its keyring with the kept key instead of deriving
   * the password's key again (scrypt), as long as the keyring's generation is the one kept.
   */
  keyCache?: KeyCache;
}

/** Master keys unlocked earlier in this process, by repository (location and id). */
export type KeyCache = Map<string, { master: Buffer; generation: number; keyId: string | undefined }>;

const cacheKey = (backend: Backend, config: RepoConfig): string => `${backend.location}\0${config.id}`;

/** The keys of a repository from a master key kept in `cache`, when its keyring is still of that generation; else undefined. */
async function unlockFromCache(cache: KeyCache | undefined, backend: Backend, config: RepoConfig): Promise<Unlocked | undefined> {
  const kept = cache?.get(cacheKey(backend, config));
  if (!kept) return undefined;
  try {
    if ((await currentGeneration(backend)) !== kept.generation) return undefined;
    return await unlockWithMaster(backend, config, kept.master, kept.generation, kept.keyId);
  } catch {
    cache!.delete(cacheKey(backend, config)); // a key that no longer opens the keyring: the password decides
    return undefined;
  }
}

/** The password and key-derivation parameters of a new encrypted repository, read before anything is written. */
async function encryptionInputs(e: NonNullable<OpenOptions['encrypt']>, location: string): Promise<{ password: Buffer; params: ScryptParams }> {
  const password = await e.password.read(`Password for the new repository at ${location}: `, { confirm: true });
  if (password.length === 0)
    throw new PrismError('PASSWORD_SOURCE', `The password for the new repository at ${location} (from ${e.password.origin}) is empty.`);
  return { password, params: e.params ?? (await calibrateScrypt()) };
}

/**
 * An unencrypted config next to a keyring or key files: config.json was edited (or replaced) to
 * drop the encryption. prism would then read sealed objects as damage and write plaintext beside
 * them, so the repository is refused until its config.json is restored.
 */
async function refuseKeysWithoutEncryption(backend: Backend): Promise<void> {
  const found = await Promise.all([KEYRING_DIR, KEYS_DIR].map(async (dir) => ((await backend.list(dir)).length > 0 ? dir : undefined)));
  for (const dir of found) {
    if (dir === undefined) continue;
    throw new PrismError(
      'REPO_CORRUPT',
      `${backend.location}/${REPO_CONFIG} says the repository is not encrypted, but it holds ${dir}/: an encrypted repository whose ${REPO_CONFIG} was changed. Nothing was read or written; restore ${REPO_CONFIG} from a copy of the repository.`,
      { object: REPO_CONFIG },
    );
  }
}

/** The repository's backend, for the other modules of repo/ (not exported from repo/index.ts). */
export function backendOf(repo: Repository): Backend {
  return repo['backend'];
}

function recordBytes(value: unknown, indent?: number): Buffer {
  return Buffer.from(JSON.stringify(value, null, indent) + '\n');
}

function parseManifest(raw: Buffer, name: string): Manifest {
  const m = parseRecord(manifestSchema, raw, name, `Manifest ${name}`);
  // a backup is stored under its id, and cleanup and delete remove it by its id: a manifest under
  // another name (a copy with other dates, written into the repository) must not pass for that backup
  if (snapshotName(m.id) !== name) {
    throw new PrismError('REPO_CORRUPT', `Manifest ${name} names backup ${m.id}: a manifest is stored under its own backup's id.`, { object: name });
  }
  return m;
}
