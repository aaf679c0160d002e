import { posix } from 'node:path';
import ssh2, { type FileEntryWithStats } from 'ssh2';
import type { AtomicWrite, Backend, CallOptions, ObjectInfo, ReadOptions, UnfinishedScope } from '../backend.js';
import { checkedName } from '../object-name.js';
import { StoreError } from '../store-error.js';
import { isFailure, isNoSuchFile, sftpCallError } from './sftp-errors.js';
import { SftpSession, type SessionSettings } from './sftp-session.js';
import { ShortReadError, readExactly, writeParts } from './sftp-transfer.js';
import { isTempName, removableAsOwn, tempBaseName } from '../temp-names.js';

/*
 * Objects as files under a folder of an SFTP server, over one SSH connection opened on the
 * first call (the constructor does no I/O) and opened again on the call after it was lost.
 * Writes go to a temporary file in the object's folder (the local backend's names), are
 * fsync'ed where the server offers fsync@openssh.com, and appear under their name whole:
 * put by posix-rename@openssh.com (which replaces, as rename(2)), putIfAbsent by
 * hardlink@openssh.com (link(2) fails if the name exists: a conditional create on any host).
 */

const { OPEN_MODE } = ssh2.utils.sftp;
const CREATE_NEW = OPEN_MODE.WRITE | OPEN_MODE.CREAT | OPEN_MODE.EXCL;
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** Readdirs in flight while listing a tree (data/ has 256 folders). */
const LIST_DEPTH = 8;
/** openAtomic keeps the bytes written in blocks of powers of two up to this size (they split evenly into SFTP writes). */
const BLOCK = 1 << 20;
const FIRST_BLOCK = 64 * 1024;

export interface SftpBackendSettings extends Omit<SessionSettings, 'store'> {
  /** The repository's folder on the server: absolute, or relative to the login's home ('' is the home). */
  root: string;
  /** The location for messages (sftp://user@host:port/path). */
  location: string;
}

export class SftpBackend implements Backend {
  readonly location: string;
  private readonly root: string;
  private session: Promise<SftpSession> | undefined;
  private closed = false;

  constructor(private readonly settings: SftpBackendSettings) {
    this.location = settings.location;
    this.root = settings.root;
  }

  /** The server path of an object. */
  private path(name: string): string {
    checkedName(name);
    if (this.root === '') return name;
    return this.root.endsWith('/') ? `${this.root}${name}` : `${this.root}/${name}`;
  }

  /** A folder to list or clean: '' is the root. */
  private folder(prefix: string): string {
    const p = prefix.replace(/\/+$/, '');
    return p === '' ? this.root || '.' : this.path(p);
  }

  /** The open session, or a new one (after none was opened, or the last was lost). */
  private connection(): Promise<SftpSession> {
    if (this.closed) return Promise.reject(new StoreError('permanent', this.location, 'the SFTP backend was closed'));
    if (this.session) return this.session;
    const opening = SftpSession.open({ ...this.settings, store: this.location });
    this.session = opening;
    const forget = (): void => {
      if (this.session === opening) this.session = undefined;
    };
    opening.then((s) => s.onDeath(forget), forget);
    return opening;
  }

  /** Runs one operation with its errors in the contract's terms. */
  private async op<T>(what: string, objectName: string | undefined, signal: AbortSignal | undefined, run: (s: SftpSession) => Promise<T>): Promise<T> {
    signal?.throwIfAborted();
    try {
      return await run(await abortable(this.connection(), signal));
    } catch (e) {
      if (e instanceof ShortReadError) {
        throw new StoreError('permanent', this.location, `${what}: ${objectName ?? 'the object'} is shorter than asked for (it ends at byte ${e.fileEnd})`, {
          cause: e,
          objectName,
        });
      }
      throw sftpCallError(e, this.location, what, objectName);
    }
  }

  async put(name: string, data: Uint8Array | readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    const target = this.path(name);
    await this.op(`writing ${name}`, undefined, opts?.signal, async (s) => {
      const temp = await this.upload(s, posix.dirname(target), data instanceof Uint8Array ? [data] : data, opts?.signal);
      await this.settle(s, temp, () => this.rename(s, temp, target), opts?.signal);
    });
  }

  async putIfAbsent(name: string, data: Uint8Array, opts?: CallOptions): Promise<boolean> {
    const target = this.path(name);
    return this.op(`creating ${name}`, undefined, opts?.signal, async (s) => {
      // a partial object must never be visible, so without link() there is no safe conditional create
      if (!s.hasExtension('hardlink@openssh.com')) {
        throw new StoreError(
          'permanent',
          this.location,
          `the SFTP server lacks the hardlink@openssh.com extension, without which prism cannot create objects atomically: use OpenSSH's sftp-server (5.7 or later)`,
        );
      }
      const temp = await this.upload(s, posix.dirname(target), [data], opts?.signal);
      try {
        signal(opts);
        await s.request<void>((sftp, done) => sftp.ext_openssh_hardlink(temp, target, (err) => done(err)));
        return true;
      } catch (e) {
        // OpenSSH answers EEXIST as FAILURE: the name being there now tells it from other failures
        const there = isFailure(e) ? await this.statOrUndefined(s, target) : undefined;
        if (!there) throw e;
        // (an earlier attempt of ours whose answer a lost connection swallowed is recognised by
        // RetryingBackend, which reads the object back: the same rule for every store)
        return false;
      } finally {
        await this.removeQuietly(s, temp);
      }
    });
  }

  async get(name: string, opts?: ReadOptions): Promise<Buffer> {
    const path = this.path(name);
    return this.op(`reading ${name}`, name, opts?.signal, (s) =>
      this.withReadHandle(s, path, async (handle) => {
        const size = (await s.request<ssh2.Stats>((sftp, done) => sftp.fstat(handle, done))).size;
        const buf = this.target(size, opts);
        await readExactly(s, handle, buf, size, 0, opts?.signal);
        return buf;
      }),
    );
  }

  async getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    const path = this.path(name);
    return this.op(`reading ${length} bytes at ${offset} of ${name}`, name, opts?.signal, (s) =>
      this.withReadHandle(s, path, async (handle) => {
        const buf = this.target(length, opts);
        await readExactly(s, handle, buf, length, offset, opts?.signal);
        return buf;
      }),
    );
  }

  async exists(name: string, opts?: CallOptions): Promise<boolean> {
    const path = this.path(name);
    return this.op(`looking for ${name}`, undefined, opts?.signal, async (s) => (await this.statOrUndefined(s, path)) !== undefined);
  }

  async size(name: string, opts?: CallOptions): Promise<number> {
    const path = this.path(name);
    return this.op(`reading the size of ${name}`, name, opts?.signal, async (s) => (await s.request<ssh2.Stats>((sftp, done) => sftp.stat(path, done))).size);
  }

  async list(prefix: string, opts?: CallOptions): Promise<ObjectInfo[]> {
    const base = this.folder(prefix);
    const top = prefix.replace(/\/+$/, '');
    return this.op(`listing ${top || 'the repository'}`, undefined, opts?.signal, async (s) => {
      const out: ObjectInfo[] = [];
      await this.walk(s, base, top, opts?.signal, (name, entry) => {
        if (!isTempName(entry.filename)) out.push({ name, size: entry.attrs.size });
      });
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    });
  }

  async delete(name: string, opts?: CallOptions): Promise<void> {
    const path = this.path(name);
    await this.op(`removing ${name}`, undefined, opts?.signal, async (s) => {
      try {
        await s.request<void>((sftp, done) => sftp.unlink(path, (err) => done(err)));
      } catch (e) {
        if (!isNoSuchFile(e)) throw e;
      }
    });
  }

  openAtomic(prefixHint: string): AtomicWrite {
    this.folder(prefixHint); // checks the hint as a name
    // the bytes are copied (the caller reuses its buffer) into blocks uploaded at commit, next to the object
    let blocks: Buffer[] = [];
    let filled = 0; // bytes in the last block
    let bytes = 0;
    return {
      write(data: Uint8Array): void {
        let off = 0;
        while (off < data.length) {
          let last = blocks[blocks.length - 1];
          if (!last || filled === last.length) {
            // 64 KiB, doubling up to 1 MiB: a small object takes little, a pack few blocks
            last = Buffer.allocUnsafe(Math.min(BLOCK, Math.max(FIRST_BLOCK, bytes + off)));
            blocks.push(last);
            filled = 0;
          }
          const n = Math.min(last.length - filled, data.length - off);
          last.set(data.subarray(off, off + n), filled);
          filled += n;
          off += n;
        }
        bytes += data.length;
      },
      get bytes() {
        return bytes;
      },
      commit: async (name: string, opts?: CallOptions): Promise<void> => {
        const parts = blocks.length === 0 ? [] : [...blocks.slice(0, -1), blocks[blocks.length - 1]!.subarray(0, filled)];
        try {
          await this.put(name, parts, opts);
        } finally {
          blocks = [];
        }
      },
      abort: async (): Promise<void> => {
        blocks = []; // nothing reached the server before commit
      },
    };
  }

  async removeUnfinished(prefix: string, scope: UnfinishedScope = 'all'): Promise<number> {
    const base = this.folder(prefix);
    const top = prefix.replace(/\/+$/, '');
    return this.op(`removing unfinished writes under ${top || 'the repository'}`, undefined, undefined, async (s) => {
      const temps: string[] = [];
      await this.walk(s, base, top, undefined, (name, entry) => {
        if (isTempName(entry.filename) && (scope === 'all' || removableAsOwn(entry.filename))) temps.push(name);
      });
      let removed = 0;
      for (const name of temps) {
        try {
          await s.request<void>((sftp, done) => sftp.unlink(this.path(name), (err) => done(err)));
          removed++;
        } catch (e) {
          if (!isNoSuchFile(e)) throw e; // removed meanwhile by its writer
        }
      }
      return removed;
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const s = await this.session?.catch(() => undefined);
    this.session = undefined;
    await s?.end();
  }

  // ---- helpers ----

  /** The buffer a read fills: the caller's reused one (grown when too small), or a new one. */
  private target(length: number, opts?: ReadOptions): Buffer {
    const into = opts?.into;
    if (!into) return Buffer.allocUnsafe(length);
    if (into.buffer.length < length) into.buffer = Buffer.allocUnsafeSlow(Math.max(length, Math.floor(into.buffer.length * 1.5)));
    return into.buffer.subarray(0, length);
  }

  private async withReadHandle<T>(s: SftpSession, path: string, use: (handle: Buffer) => Promise<T>): Promise<T> {
    const handle = await s.request<Buffer>((sftp, done) => sftp.open(path, 'r', done));
    try {
      return await use(handle);
    } finally {
      await this.closeQuietly(s, handle);
    }
  }

  /** Writes the parts to a new temporary file in `dir` (made if missing) and returns its path; removes it on failure. */
  private async upload(s: SftpSession, dir: string, parts: readonly Uint8Array[], signal: AbortSignal | undefined): Promise<string> {
    signal?.throwIfAborted();
    const temp = posix.join(dir, tempBaseName());
    const open = (): Promise<Buffer> => s.request<Buffer>((sftp, done) => sftp.open(temp, CREATE_NEW, { mode: FILE_MODE }, done));
    let handle: Buffer;
    try {
      handle = await open();
    } catch (e) {
      if (!isNoSuchFile(e)) throw e;
      await this.mkdirs(s, dir);
      handle = await open();
    }
    let open_ = true;
    try {
      await writeParts(s, handle, parts, signal);
      if (s.hasExtension('fsync@openssh.com')) await s.request<void>((sftp, done) => sftp.ext_openssh_fsync(handle, (err) => done(err)));
      open_ = false;
      await s.request<void>((sftp, done) => sftp.close(handle, (err) => done(err)));
      return temp;
    } catch (e) {
      if (open_) await this.closeQuietly(s, handle);
      await this.removeQuietly(s, temp);
      throw e;
    }
  }

  /** Moves a finished temporary file into place, removing it if that fails (or the call was aborted meanwhile). */
  private async settle(s: SftpSession, temp: string, move: () => Promise<void>, sig: AbortSignal | undefined): Promise<void> {
    try {
      sig?.throwIfAborted();
      await move();
    } catch (e) {
      await this.removeQuietly(s, temp);
      throw e;
    }
  }

  /** rename that replaces an existing object (plain SFTP rename refuses to). */
  private async rename(s: SftpSession, from: string, to: string): Promise<void> {
    if (!s.hasExtension('posix-rename@openssh.com')) {
      throw new StoreError(
        'permanent',
        this.location,
        `the SFTP server lacks the posix-rename@openssh.com extension, without which prism cannot replace objects atomically: use OpenSSH's sftp-server`,
      );
    }
    await s.request<void>((sftp, done) => sftp.ext_openssh_rename(from, to, (err) => done(err)));
  }

  /** mkdir -p with mode 0700: a folder made meanwhile by another writer is fine. */
  private async mkdirs(s: SftpSession, dir: string): Promise<void> {
    const mkdir = (): Promise<void> => s.request<void>((sftp, done) => sftp.mkdir(dir, { mode: DIR_MODE }, (err) => done(err)));
    try {
      await mkdir();
      return;
    } catch (e) {
      const parent = posix.dirname(dir);
      if (isNoSuchFile(e) && parent !== dir && parent !== '.') {
        await this.mkdirs(s, parent);
        try {
          await mkdir();
          return;
        } catch (again) {
          e = again;
        }
      }
      const st = await this.statOrUndefined(s, dir).catch(() => undefined);
      if (st?.isDirectory()) return;
      throw e;
    }
  }

  private async statOrUndefined(s: SftpSession, path: string): Promise<ssh2.Stats | undefined> {
    try {
      return await s.request<ssh2.Stats>((sftp, done) => sftp.stat(path, done));
    } catch (e) {
      if (isNoSuchFile(e)) return undefined;
      throw e;
    }
  }

  private async closeQuietly(s: SftpSession, handle: Buffer): Promise<void> {
    if (s.dead) return;
    await s.request<void>((sftp, done) => sftp.close(handle, (err) => done(err))).catch(() => undefined);
  }

  /** Best effort: when the connection is gone, the file stays for removeUnfinished. */
  private async removeQuietly(s: SftpSession, path: string): Promise<void> {
    if (s.dead) return;
    await s.request<void>((sftp, done) => sftp.unlink(path, (err) => done(err))).catch(() => undefined);
  }

  /**
   * Visits the files under `dir` (whose name relative to the root is `rel`), several folders
   * read at once; a missing `dir` has none, and a folder removed while listed is skipped.
   */
  private async walk(
    s: SftpSession,
    dir: string,
    rel: string,
    sig: AbortSignal | undefined,
    visit: (name: string, entry: FileEntryWithStats) => void,
  ): Promise<void> {
    let running = 0;
    const waiting: (() => void)[] = [];
    const slot = async (): Promise<void> => {
      if (running < LIST_DEPTH) {
        running++;
        return;
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    };
    const release = (): void => {
      const next = waiting.shift();
      if (next) next();
      else running--;
    };
    const readFolder = async (path: string, name: string): Promise<void> => {
      sig?.throwIfAborted();
      await slot();
      let entries: FileEntryWithStats[];
      try {
        entries = await s.request<FileEntryWithStats[]>((sftp, done) => sftp.readdir(path, done));
      } catch (e) {
        if (isNoSuchFile(e)) return;
        throw e;
      } finally {
        release();
      }
      const sub: Promise<void>[] = [];
      for (const entry of entries) {
        const childName = name === '' ? entry.filename : `${name}/${entry.filename}`;
        if (entry.attrs.isDirectory()) sub.push(readFolder(posix.join(path, entry.filename), childName));
        else if (entry.attrs.isFile()) visit(childName, entry);
      }
      await Promise.all(sub);
    };
    await readFolder(dir, rel);
  }
}

/** Rejects with the signal's reason when it is aborted first (the promise itself runs on). */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Stops a call that was aborted (between its steps). */
function signal(opts: CallOptions | undefined): void {
  opts?.signal?.throwIfAborted();
}
