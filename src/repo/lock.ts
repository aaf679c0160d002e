import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Backend, ObjectInfo } from '../backend/backend.js';
import type { Clock } from '../core/clock.js';
import { ObjectNotFoundError, isDenied } from '../backend/store-error.js';
import { PrismError } from '../errors/index.js';
import { lockName } from './layout.js';
import { processAlive } from '../core/process-alive.js';

/**
 * Repository locks.
 * - `shared` (readers, backups against prune): a file of its own, `locks/shared-<id>.json`.
 * - `backup`: a shared lock plus the single `locks/backup-<host>.json` of the host backed up, so
 *   two backups of one host never overlap while backups of several hosts proceed at once.
 * - `exclusive` (prune, delete): the single `locks/exclusive.json`, then waits until no shared lock is left.
 * The single files are created with create-if-absent, so exactly one process wins them. Every
 * holder writes its file and only then looks for conflicts, so no interleaving lets two
 * conflicting holders both pass. Locks of dead processes on this host, and locks of other hosts
 * not refreshed for LOCK_STALE_MS, are removed by whoever meets them.
 *
 * Credentials that may not delete (append-only: an Azure SAS without d) cannot remove a lock file:
 * a lock is then released by emptying its file, which holds nothing; a file that holds nothing (empty,
 * stale, of a dead process) is taken over by writing one's own lock into it and reading it back a
 * moment later (not atomic as a conditional create is: two takers in the same second could both
 * pass; a host's backup lock is contended by that host's own runs only). Whoever may delete (the
 * operator's prune) removes such files.
 */
export type LockKind = 'shared' | 'backup' | 'exclusive';

export interface LockInfo {
  kind: LockKind;
  pid: number;
  host: string;
  command: string;
  created: string;
  refreshed: string;
}

export const LOCK_STALE_MS = 30 * 60 * 1000;
const REFRESH_MS = 5 * 60 * 1000;
/**
 * Another process takes a live holder's single lock file over only once it looks stale: not
 * refreshed for LOCK_STALE_MS by the taker's clock. Within this time of its last write, a holder
 * knows the file is still its own without reading it back (clocks may differ by up to
 * LOCK_STALE_MS − this before that fails).
 */
const SURELY_OURS_MS = LOCK_STALE_MS / 3;
/** How long a taker of a lock file that holds nothing waits before reading it back. */
const TAKEOVER_SETTLE_MS = 1000;
/** What a lock file holds once released by credentials that may not delete it. */
const RELEASED = Buffer.alloc(0);
/** The backup lock of one host (backup.host / --host, else the machine's name). */
export const backupLockName = (host: string): string => lockName(`backup-${encodeURIComponent(host)}`);
const EXCLUSIVE = lockName('exclusive');

export interface LockOptions {
  kind: LockKind;
  command: string;
  clock: Clock;
  /** How long to wait for a conflicting lock to go away (ms); 0 fails at once. */
  waitMs?: number;
  onWait?: (holder: LockInfo) => void;
  /** The host a `backup` lock is for (default: the machine's name). */
  backupHost?: string;
}

export class RepositoryLock {
  private timer: NodeJS.Timeout | undefined;
  private released = false;
  /** When the lock files were last written, on `clock` (taken, or refreshed). */
  private writtenMs: number;
  /** Lock files another process took over (found at a refresh): never written or removed again. */
  private readonly lost = new Set<string>();

  private constructor(
    private readonly backend: Backend,
    private readonly names: string[],
    private readonly info: LockInfo,
    private readonly clock: Clock,
    /** Removal of other processes' stale shared locks, begun when this one was taken. */
    private readonly tidying?: Promise<void>,
  ) {
    this.writtenMs = clock.now().getTime();
  }

  static async acquire(backend: Backend, opts: LockOptions): Promise<RepositoryLock> {
    const now = opts.clock.now().toISOString();
    const info: LockInfo = { kind: opts.kind, pid: process.pid, host: hostname(), command: opts.command, created: now, refreshed: now };
    const body = Buffer.from(JSON.stringify(info));
    const clock = opts.clock;
    const deadline = clock.now().getTime() + (opts.waitMs ?? 0);
    let announced = false;
    const wait = async (holder: LockInfo): Promise<void> => {
      if (clock.now().getTime() >= deadline) {
        throw new PrismError(
          'REPO_LOCKED',
          `Repository ${backend.location} is locked by \`${holder.command}\` (pid ${holder.pid} on ${holder.host}, ${holder.kind} lock since ${holder.created}). Wait for it to finish, or pass --lock-wait DURATION.`,
          { holder },
        );
      }
      if (!announced) opts.onWait?.(holder);
      announced = true;
      await clock.sleep(200 + Math.random() * 300);
    };

    const single = opts.kind === 'backup' ? backupLockName(opts.backupHost ?? hostname()) : opts.kind === 'exclusive' ? EXCLUSIVE : undefined;
    if (single) {
      let unreadable = 0;
      while (!(await backend.putIfAbsent(single, body))) {
        const holder = await readLive(backend, single, opts.clock);
        if (holder === 'left') {
          // it holds nothing, and these credentials cannot remove it: write ours into it
          if (await takeOver(backend, single, body, clock)) break;
        } else if (holder) {
          unreadable = 0;
          await wait(holder);
        } else if (++unreadable > 50) {
          // created but never written: its creator died between the two steps
          if ((await removeLock(backend, single)) === 'left' && (await takeOver(backend, single, body, clock))) break;
          unreadable = 0;
        } else {
          await clock.sleep(100);
        }
      }
    }
    const names = single ? [single] : [];
    let tidy: Promise<void> | undefined;
    try {
      if (opts.kind === 'exclusive') {
        for (;;) {
          const holder = await firstLiveShared(backend, undefined, opts.clock);
          if (!holder) break;
          await wait(holder);
        }
      } else {
        const own = lockName(`shared-${randomBytes(12).toString('hex')}`);
        let listed: ObjectInfo[];
        for (;;) {
          await backend.put(own, body);
          // one listing tells whether an exclusive lock is there and which shared locks to tidy
          listed = await backend.list('locks');
          const holder = listed.some((o) => o.name === EXCLUSIVE) ? await readLive(backend, EXCLUSIVE, opts.clock) : undefined;
          if (!holder || holder === 'left') break;
          await releaseLock(backend, own);
          await wait(holder);
        }
        names.push(own);
        // shared locks left by killed processes block nothing, but would stay until the next exclusive locker: tidy them,
        // while the locker goes on (release waits for it)
        tidy = firstLiveShared(backend, own, opts.clock, { all: true, listed }).then(
          () => undefined,
          () => undefined,
        );
      }
    } catch (e) {
      for (const n of names) await releaseLock(backend, n);
      throw e;
    }
    const lock = new RepositoryLock(backend, names, info, opts.clock, tidy);
    lock.startRefresh();
    return lock;
  }

  private startRefresh(): void {
    this.timer = setInterval(() => {
      const now = this.clock.now();
      this.info.refreshed = now.toISOString();
      const body = Buffer.from(JSON.stringify(this.info));
      const refreshed = this.names.map(async (n) => {
        const ours = await this.holds(n, true);
        if (ours) await this.backend.put(n, body);
        else if (ours === false) this.lost.add(n);
        else throw new Error(`${n} could not be read`); // not refreshed this time: the next release reads it back
      });
      void Promise.all(refreshed).then(
        () => (this.writtenMs = now.getTime()),
        () => {},
      );
    }, REFRESH_MS);
    this.timer.unref();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    await this.tidying;
    for (const n of this.names) if (await this.stillOurs(n)) await releaseLock(this.backend, n);
  }

  /**
   * False if another process took the file over (it judged this lock stale). A shared lock's
   * name is random and only ever written by its owner (a stale one is removed, never taken
   * over), so it is ours without reading it back; so is a single one written recently enough
   * that nobody can have judged it stale (SURELY_OURS_MS).
   */
  private async stillOurs(name: string): Promise<boolean> {
    return (await this.holds(name, false)) === true;
  }

  /** Whether `name` still holds this lock (read back when `read`, or when not written recently); undefined when it cannot be read. */
  private async holds(name: string, read: boolean): Promise<boolean | undefined> {
    if (name.startsWith('locks/shared-')) return true;
    if (this.lost.has(name)) return false;
    if (!read && this.clock.now().getTime() - this.writtenMs < SURELY_OURS_MS) return true;
    return this.readBack(name);
  }

  /** Whether the file still holds this lock: undefined when it cannot be read (a store away for a moment). */
  private async readBack(name: string): Promise<boolean | undefined> {
    let raw: Buffer;
    try {
      raw = await this.backend.get(name);
    } catch (e) {
      return e instanceof ObjectNotFoundError ? false : undefined;
    }
    try {
      const cur = JSON.parse(raw.toString('utf8')) as LockInfo;
      return cur.pid === this.info.pid && cur.host === this.info.host && cur.created === this.info.created;
    } catch {
      return false;
    }
  }
}

/** Removes a lock file: 'gone', or 'left' where the credentials may not delete. */
async function removeLock(backend: Backend, name: string): Promise<'gone' | 'left'> {
  try {
    await backend.delete(name);
    return 'gone';
  } catch (e) {
    if (isDenied(e)) return 'left';
    throw e;
  }
}

/** Releases a lock file: removed, or, where the credentials may not delete, emptied (it then holds nothing). */
async function releaseLock(backend: Backend, name: string): Promise<void> {
  if ((await removeLock(backend, name)) === 'left') await backend.put(name, RELEASED);
}

/** Writes `body` into a lock file that holds nothing and cannot be removed; true if it still holds it a moment later. */
async function takeOver(backend: Backend, name: string, body: Buffer, clock: Clock): Promise<boolean> {
  await backend.put(name, body);
  await clock.sleep(TAKEOVER_SETTLE_MS);
  try {
    return (await backend.get(name)).equals(body);
  } catch {
    return false;
  }
}

/**
 * The lock in `name` if it exists and is live. One that holds nothing (stale, of a dead process,
 * released by emptying) is removed, or 'left' where the credentials may not delete it.
 */
async function readLive(backend: Backend, name: string, clock: Clock): Promise<LockInfo | 'left' | undefined> {
  let raw: Buffer;
  try {
    raw = await backend.get(name);
  } catch {
    return undefined; // gone: look again next round
  }
  let info: LockInfo | undefined;
  try {
    info = raw.length === 0 ? undefined : (JSON.parse(raw.toString('utf8')) as LockInfo);
  } catch {
    return undefined; // half-written by its creator this instant: look again next round
  }
  if (!info || isStale(info, clock)) return (await removeLock(backend, name)) === 'left' ? 'left' : undefined;
  return info;
}

/** The first live shared lock (removing stale ones on the way); with `all`, every shared lock is looked at (and the first live one returned); `listed`: a listing of locks/ already made. */
async function firstLiveShared(
  backend: Backend,
  except: string | undefined,
  clock: Clock,
  opts: { all?: boolean; listed?: readonly ObjectInfo[] } = {},
): Promise<LockInfo | undefined> {
  let first: LockInfo | undefined;
  for (const { name } of opts.listed ?? (await backend.list('locks'))) {
    if (name === except || !name.startsWith('locks/shared-')) continue;
    const info = await readLive(backend, name, clock);
    if (info !== 'left') first ??= info;
    if (first && !opts.all) return first;
  }
  return first;
}

export function isStale(lock: LockInfo, clock: Clock): boolean {
  const age = clock.now().getTime() - Date.parse(lock.refreshed);
  // A live holder refreshes every REFRESH_MS: an unreadable or old refresh time is stale even on
  // this host (the pid may have been reused by an unrelated process).
  if (!Number.isFinite(age) || age > LOCK_STALE_MS) return true;
  return lock.host === hostname() && !processAlive(lock.pid);
}

/** True while a live process holds the backup lock of `host` (so a `running` manifest of that host is really running). */
export async function backupLockHeld(backend: Backend, clock: Clock, host: string): Promise<boolean> {
  const holder = await readLive(backend, backupLockName(host), clock);
  return holder !== undefined && holder !== 'left';
}
