import { closeSync, fsyncSync, promises as fsp, writeSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { AtomicWrite, Backend, CallOptions, FolderVersion, ObjectInfo, ReadOptions, Space, SpaceReporting, UnfinishedScope } from './backend.js';
import { ObjectNotFoundError } from './store-error.js';
import { checkedName } from './object-name.js';
import { TEMP_PREFIX, removableAsOwn, tempBaseName } from './temp-names.js';
import { mkdirPrivate, mkdirPrivateAsync, openPrivate, PRIVATE_FILE_MODE } from '../core/private-files.js';

/** `.tmp-<host tag>-<pid>-<random>` in the object's folder (temp-names.ts). */
function tempName(dir: string): string {
  return join(dir, tempBaseName());
}

/** Objects as files under a root directory; atomic writes by temp file + fsync + rename. */
export class LocalBackend implements Backend, SpaceReporting {
  private readonly madeDirs = new Set<string>();

  constructor(readonly root: string) {}

  get location(): string {
    return this.root;
  }

  private path(name: string): string {
    return join(this.root, ...checkedName(name).split('/'));
  }

  /** The file that holds object `name` (it may not exist). */
  objectPath(name: string): string {
    return this.path(name);
  }

  /** A folder to list or clean: '' is the root. */
  private folder(prefix: string): string {
    const p = prefix.replace(/\/+$/, '');
    return p === '' ? this.root : this.path(p);
  }

  private async ensureDir(dir: string): Promise<void> {
    if (this.madeDirs.has(dir)) return;
    await mkdirPrivateAsync(dir);
    this.madeDirs.add(dir);
  }

  async put(name: string, data: Uint8Array | readonly Uint8Array[], opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    const target = this.path(name);
    const dir = dirname(target);
    await this.ensureDir(dir);
    const temp = tempName(dir);
    const fh = await fsp.open(temp, 'wx', PRIVATE_FILE_MODE);
    try {
      const parts = data instanceof Uint8Array ? [data] : data;
      await fh.writev(parts as Uint8Array[]);
      await fh.sync();
    } catch (e) {
      await fh.close().catch(() => {});
      await fsp.rm(temp, { force: true });
      throw e;
    }
    await fh.close();
    try {
      await fsp.rename(temp, target);
    } catch (e) {
      await fsp.rm(temp, { force: true });
      throw e;
    }
    await syncDir(dir);
  }

  async putIfAbsent(name: string, data: Uint8Array, opts?: CallOptions): Promise<boolean> {
    opts?.signal?.throwIfAborted();
    // Written complete under a temporary name, then hard-linked to the target: link() fails
    // with EEXIST if the target exists, so the object appears whole and only once.
    const target = this.path(name);
    const dir = dirname(target);
    await this.ensureDir(dir);
    const temp = tempName(dir);
    try {
      const fh = await fsp.open(temp, 'wx', PRIVATE_FILE_MODE);
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await fsp.link(temp, target);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
      await syncDir(dir);
      return true;
    } finally {
      await fsp.rm(temp, { force: true });
    }
  }

  async get(name: string, opts?: ReadOptions): Promise<Buffer> {
    opts?.signal?.throwIfAborted();
    const into = opts?.into;
    if (!into) {
      try {
        return await fsp.readFile(this.path(name), { signal: opts?.signal });
      } catch (e) {
        throw notFound(e, name, this.path(name));
      }
    }
    let fh;
    try {
      fh = await fsp.open(this.path(name), 'r');
    } catch (e) {
      throw notFound(e, name, this.path(name));
    }
    try {
      const size = (await fh.stat()).size;
      if (into.buffer.length < size) into.buffer = Buffer.allocUnsafeSlow(Math.max(size, Math.floor(into.buffer.length * 1.5)));
      let done = 0;
      while (done < size) {
        const { bytesRead } = await fh.read(into.buffer, done, size - done, done);
        if (bytesRead === 0) break; // shortened while read
        done += bytesRead;
      }
      return into.buffer.subarray(0, done);
    } finally {
      await fh.close();
    }
  }

  async getRange(name: string, offset: number, length: number, opts?: ReadOptions): Promise<Buffer> {
    opts?.signal?.throwIfAborted();
    const into = opts?.into;
    let fh;
    try {
      fh = await fsp.open(this.path(name), 'r');
    } catch (e) {
      throw notFound(e, name, this.path(name));
    }
    try {
      if (into && into.buffer.length < length) into.buffer = Buffer.allocUnsafeSlow(Math.max(length, Math.floor(into.buffer.length * 1.5)));
      const buf = into ? into.buffer.subarray(0, length) : Buffer.allocUnsafe(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await fh.read(buf, done, length - done, offset + done);
        if (bytesRead === 0) throw new Error(`short read of ${name}: ${done} of ${length} bytes at ${offset}`);
        done += bytesRead;
      }
      return buf;
    } finally {
      await fh.close();
    }
  }

  async exists(name: string, opts?: CallOptions): Promise<boolean> {
    opts?.signal?.throwIfAborted();
    try {
      await fsp.access(this.path(name));
      return true;
    } catch {
      return false;
    }
  }

  async size(name: string, opts?: CallOptions): Promise<number> {
    opts?.signal?.throwIfAborted();
    try {
      return (await fsp.stat(this.path(name))).size;
    } catch (e) {
      throw notFound(e, name, this.path(name));
    }
  }

  async list(prefix: string, opts?: CallOptions): Promise<ObjectInfo[]> {
    opts?.signal?.throwIfAborted();
    const base = this.folder(prefix);
    let names: string[];
    try {
      names = (await fsp.readdir(base, { recursive: true, withFileTypes: true }))
        .filter((d) => d.isFile() && !d.name.startsWith(TEMP_PREFIX))
        .map((d) =>
          relative(this.root, join(d.parentPath ?? (d as unknown as { path: string }).path, d.name))
            .split(sep)
            .join('/'),
        );
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    names.sort();
    const out: ObjectInfo[] = [];
    // stat in small batches: thousands of packs, without thousands of open requests at once
    for (let i = 0; i < names.length; i += 64) {
      opts?.signal?.throwIfAborted();
      const batch = names.slice(i, i + 64);
      const stats = await Promise.all(
        batch.map((n) =>
          fsp.stat(this.path(n)).then(
            (s) => s,
            () => undefined,
          ),
        ),
      );
      batch.forEach((name, j) => {
        const s = stats[j];
        // removed while listed: not there; objects are replaced by rename, so a new inode or mtime is a new version
        if (s) out.push({ name, size: s.size, version: `${s.ino}:${s.mtimeMs}:${s.size}` });
      });
    }
    return out;
  }

  /** Objects are written by rename or link and removed by unlink: each changes the directory's mtime and ctime. */
  async folderVersion(prefix: string): Promise<FolderVersion | undefined> {
    try {
      const s = await fsp.stat(this.folder(prefix), { bigint: true });
      return { version: `${s.ino}:${s.mtimeNs}:${s.ctimeNs}`, changedMs: Number((s.mtimeNs > s.ctimeNs ? s.mtimeNs : s.ctimeNs) / 1_000_000n) };
    } catch {
      return undefined;
    }
  }

  async delete(name: string, opts?: CallOptions): Promise<void> {
    opts?.signal?.throwIfAborted();
    await fsp.rm(this.path(name), { force: true });
  }

  openAtomic(prefixHint: string): AtomicWrite {
    const dir = this.folder(prefixHint);
    mkdirPrivate(dir);
    const temp = tempName(dir);
    const fd = openPrivate(temp, 'wx');
    let bytes = 0;
    let open = true;
    const close = (): void => {
      if (open) closeSync(fd);
      open = false;
    };
    return {
      write(data: Uint8Array): void {
        let off = 0;
        while (off < data.length) off += writeSync(fd, data, off, data.length - off);
        bytes += data.length;
      },
      get bytes() {
        return bytes;
      },
      commit: async (name: string, opts?: CallOptions): Promise<void> => {
        try {
          opts?.signal?.throwIfAborted();
          fsyncSync(fd);
          close();
          const target = this.path(name);
          await this.ensureDir(dirname(target));
          await fsp.rename(temp, target);
          await syncDir(dirname(target));
        } catch (e) {
          close();
          await fsp.rm(temp, { force: true });
          throw e;
        }
      },
      abort: async (): Promise<void> => {
        close();
        await fsp.rm(temp, { force: true });
      },
    };
  }

  async removeUnfinished(prefix: string, scope: UnfinishedScope = 'all'): Promise<number> {
    let removed = 0;
    let entries;
    try {
      entries = await fsp.readdir(this.folder(prefix), { recursive: true, withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw e;
    }
    for (const d of entries) {
      if (d.isFile() && d.name.startsWith(TEMP_PREFIX) && (scope === 'all' || removableAsOwn(d.name))) {
        await fsp.rm(join(d.parentPath ?? (d as unknown as { path: string }).path, d.name), { force: true });
        removed++;
      }
    }
    return removed;
  }

  async space(): Promise<Space | undefined> {
    let dir = this.root;
    for (;;) {
      try {
        const s = await fsp.statfs(dir);
        return { free: s.bavail * s.bsize, total: s.blocks * s.bsize };
      } catch (e) {
        const parent = dirname(dir);
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || parent === dir) return undefined;
        dir = parent;
      }
    }
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** ENOENT as ObjectNotFoundError; other errors with the object's path (a read of an open file names none). */
function notFound(e: unknown, name: string, path: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (err?.code === 'ENOENT') return new ObjectNotFoundError(name);
  if (err && typeof err === 'object' && typeof err.code === 'string' && err.path === undefined) err.path = path;
  return e;
}
