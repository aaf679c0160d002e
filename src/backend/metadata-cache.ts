import { createHash, randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Backend, CallOptions, ObjectInfo, ReadOptions } from './backend.js';
import { ForwardingBackend } from './forwarding-backend.js';

const HASH_BYTES = 32;

const isIndexName = (name: string): boolean => name.startsWith('index/') && !name.slice(6).includes('/');

/**
 * Folders of small records that commands read whole right after listing them (manifests, key
 * files, keyrings): a copy is used when its MD5 is the one the listing gave (S3, Azure), which the
 * reader passes along (ReadOptions.listed).
 */
const RECORD_FOLDERS = new Set(['snapshots', 'keys', 'keyring']);
/** A record's own name: what prism writes there, and never a path a crafted listing could steer (no '..'). */
const RECORD_FILE = /^[A-Za-z0-9_][A-Za-z0-9._-]*$/;
const isRecordName = (name: string): boolean => {
  const slash = name.indexOf('/');
  return slash > 0 && RECORD_FOLDERS.has(name.slice(0, slash)) && RECORD_FILE.test(name.slice(slash + 1));
};
const PACK_NAME = /^data\/[0-9a-f]{2}\/[0-9a-f]{64}$/;
const md5 = (body: Uint8Array): string => createHash('md5').update(body).digest('hex');

/** Where the metadata of a remote repository is cached: PRISM_CACHE_DIR, else $XDG_CACHE_HOME/prism, else ~/.cache/prism; a folder per location. */
export function metadataCacheDir(location: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.PRISM_CACHE_DIR === 'off') return undefined;
  const base = env.PRISM_CACHE_DIR || join(env.XDG_CACHE_HOME || join(env.HOME || homedir(), '.cache'), 'prism');
  return join(base, createHash('sha256').update(location).digest('hex').slice(0, 24));
}

/**
 * A local copy of a remote repository's index files, so that every command (and every restore
 * worker) does not fetch them all again; and of its manifests, key files and keyrings where the
 * store lists each object's MD5 (ObjectInfo.md5): a copy whose MD5 is the listed one is the object,
 * whatever wrote it, so a backup reads none of the earlier backups' manifests from the store (the
 * reader passes the listing's entry along: a copy never stands in for a record rewritten since).
 * Index files never change once written (their name is
 * their content's hash), so a copy is good as long as the store still lists the object with the
 * same size; a copy is used only for a name in the store's latest listing of index/, and checked
 * against the SHA-256 kept with it. A stale, damaged or deleted cache costs a fetch, never a wrong
 * answer: a copy that does not check is fetched again and replaced. Copies of objects the store no
 * longer lists are removed at the next listing. A copy that checks but does not open (an encrypted
 * repository's index file sealed again under a new key keeps its name and size) is asked for
 * again with `fresh` by the layer that opens it (SealedBackend), and replaced.
 */
export class MetadataCache extends ForwardingBackend {
  /** Sizes of index/ objects in the latest listing. */
  private listed: Map<string, number> | undefined;
  /** Index files read from the cache (for tests and the benchmark). */
  hits = 0;

  constructor(
    inner: Backend,
    private readonly dir: string,
  ) {
    super(inner);
  }

  private file(name: string): string {
    return join(this.dir, 'index', name.slice('index/'.length));
  }

  override async list(prefix: string, opts?: CallOptions): Promise<ObjectInfo[]> {
    const out = await this.inner.list(prefix, opts);
    if (prefix === 'index') {
      this.listed = new Map(out.map((o) => [o.name, o.size]));
      await this.forgetUnlisted().catch(() => undefined);
    } else if (prefix === 'data') {
      const packs = new Set(out.map((o) => o.name.slice(-64)));
      await this.forgetRanges((pack) => !packs.has(pack)).catch(() => undefined);
    } else if (RECORD_FOLDERS.has(prefix)) {
      await this.forgetUnlistedRecords(prefix, new Set(out.map((o) => o.name))).catch(() => undefined);
    }
    return out;
  }

  override async get(name: string, opts?: ReadOptions): Promise<Buffer> {
    if (isRecordName(name)) return this.getRecord(name, opts);
    const size = isIndexName(name) ? this.listed?.get(name) : undefined;
    if (size === undefined) return this.inner.get(name, opts);
    const cached = opts?.fresh ? undefined : await this.read(name, size);
    if (cached) {
      this.hits++;
      return cached;
    }
    const fetched = await this.inner.get(name, opts);
    if (fetched.length === size) await this.write(name, fetched).catch(() => undefined); // a cache that cannot be written is no cache
    return fetched;
  }

  /**
   * An index file written here is cached as it is stored, so that the next command (the next
   * backup's, after one that stored new data) finds it without fetching it.
   */
  override async put(name: string, data: Uint8Array | readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    await this.inner.put(name, data, opts);
    const record = isRecordName(name);
    if (!isIndexName(name) && !record) return;
    const body = data instanceof Uint8Array ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.concat(data);
    if (record) return this.keepRecord(name, body); // the next command that lists it with this MD5 reads this copy
    this.listed?.set(name, body.length);
    await this.write(name, body).catch(() => undefined);
  }

  override async putIfAbsent(name: string, data: Uint8Array, opts?: CallOptions): Promise<boolean> {
    const made = await this.inner.putIfAbsent(name, data, opts);
    if (made && isRecordName(name)) await this.keepRecord(name, Buffer.from(data));
    return made;
  }

  /**
   * A record of a record folder read as a listing gave it (`opts.listed`, with an MD5): the local
   * copy when it has that MD5, else fetched (and kept when it has it). Without a listing, fetched.
   */
  private async getRecord(name: string, opts: ReadOptions | undefined): Promise<Buffer> {
    const listed = opts?.listed;
    if (listed?.md5 === undefined || listed.name !== name) return this.inner.get(name, opts);
    const cached = opts?.fresh ? undefined : await readChecked(this.recordFile(name), listed.size);
    if (cached && md5(cached) === listed.md5) {
      this.hits++;
      return cached;
    }
    const fetched = await this.inner.get(name, opts);
    if (md5(fetched) === listed.md5) await this.keepRecord(name, Buffer.from(fetched));
    return fetched;
  }

  private recordFile(name: string): string {
    return join(this.dir, 'records', name);
  }

  /** Writes the local copy of a record (a cache that cannot be written is no cache). */
  private async keepRecord(name: string, body: Buffer): Promise<void> {
    const file = this.recordFile(name);
    await writeChecked(dirname(file), file, body).catch(() => undefined);
  }

  private async forgetUnlistedRecords(folder: string, names: Set<string>): Promise<void> {
    let files: string[];
    try {
      files = await fsp.readdir(join(this.dir, 'records', folder));
    } catch {
      return;
    }
    for (const f of files) if (!names.has(`${folder}/${f}`)) await fsp.rm(join(this.dir, 'records', folder, f), { force: true });
  }

  /**
   * A range read with `keep` (a frame of directory trees) is kept: a pack never changes under its
   * name (the name is its content's hash), so a copy that checks against its own SHA-256 is the
   * range. Copies of packs that a listing of data/ no longer shows are removed.
   */
  override async getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    if (!opts?.keep || !PACK_NAME.test(name)) return this.inner.getRange(name, offset, length, opts);
    const file = this.rangeFile(name, offset, length);
    const cached = opts.fresh ? undefined : await readChecked(file, length);
    if (cached) {
      this.hits++;
      return cached;
    }
    const fetched = await this.inner.getRange(name, offset, length, opts);
    if (fetched.length === length) await writeChecked(join(this.dir, 'ranges'), file, fetched).catch(() => undefined);
    return fetched;
  }

  /** A range of a pack just written that readers will ask for with `keep`: kept as if it had been read. */
  async keepRange(name: string, offset: number, bytes: Uint8Array): Promise<void> {
    if (!PACK_NAME.test(name)) return;
    await writeChecked(
      join(this.dir, 'ranges'),
      this.rangeFile(name, offset, bytes.length),
      Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    ).catch(() => undefined);
  }

  override async delete(name: string, opts?: CallOptions): Promise<void> {
    await this.inner.delete(name, opts);
    this.listed?.delete(name);
    if (isRecordName(name)) await fsp.rm(this.recordFile(name), { force: true }).catch(() => undefined);
    if (name.startsWith('index/')) await fsp.rm(this.file(name), { force: true }).catch(() => undefined);
    if (name.startsWith('data/')) await this.forgetRanges((pack) => pack === name.slice(-64)).catch(() => undefined);
  }

  private rangeFile(name: string, offset: number, length: number): string {
    return join(this.dir, 'ranges', `${name.slice(-64)}-${offset}-${length}`);
  }

  /** Removes the kept ranges of the packs `gone` says. */
  private async forgetRanges(gone: (pack: string) => boolean): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(join(this.dir, 'ranges'));
    } catch {
      return;
    }
    for (const n of names) if (gone(n.slice(0, 64))) await fsp.rm(join(this.dir, 'ranges', n), { force: true });
  }

  /** The cached copy if it is there, of the listed size, and checks against its hash. */
  private read(name: string, size: number): Promise<Buffer | undefined> {
    return readChecked(this.file(name), size);
  }

  private write(name: string, body: Buffer): Promise<void> {
    return writeChecked(join(this.dir, 'index'), this.file(name), body);
  }

  private async forgetUnlisted(): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(join(this.dir, 'index'));
    } catch {
      return;
    }
    for (const n of names) if (!this.listed?.has(`index/${n}`)) await fsp.rm(join(this.dir, 'index', n), { force: true });
  }
}

/** A copy written by writeChecked, if it is there, `size` bytes long and checks against the SHA-256 kept after it. */
async function readChecked(file: string, size: number): Promise<Buffer | undefined> {
  let raw: Buffer;
  try {
    raw = await fsp.readFile(file);
  } catch {
    return undefined;
  }
  if (raw.length !== size + HASH_BYTES) return undefined;
  const body = raw.subarray(0, size);
  if (!createHash('sha256').update(body).digest().equals(raw.subarray(size))) return undefined;
  return body;
}

/** Writes `body` and its SHA-256 to `file` in `dir` (created private): temporary name, rename. */
async function writeChecked(dir: string, file: string, body: Buffer): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const temp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  await fsp.writeFile(temp, Buffer.concat([body, createHash('sha256').update(body).digest()]), { mode: 0o600 });
  await fsp.rename(temp, file);
}
