import { spaceOf, type Backend, type ObjectLock, type Space } from '../backend/backend.js';
import { LocalBackend } from '../backend/local-backend.js';
import { MetadataCache, metadataCacheDir } from '../backend/metadata-cache.js';
import { ReadAheadBackend } from '../backend/read-ahead-backend.js';
import { parseLocation, type Location } from '../backend/location.js';
import { DEFAULT_RETRY, RetryingBackend, type RetryEvent, type RetryPolicy } from '../backend/retrying-backend.js';
import { isAbsolute } from 'node:path';
import { systemClock } from '../core/clock.js';
import { registerConnection } from '../core/open-connections.js';
import { PrismError } from '../errors/index.js';

type RemoteLocation = Exclude<Location, { kind: 'local' }>;

/** How a repository's store is opened, beyond its location and the environment. */
export interface StoreOptions {
  /** backup.object_lock: every object written (but the locks) is kept under this retention; S3 only. */
  objectLock?: ObjectLock;
}

/** The remote stores, each loaded only when a repository lives there (their SDKs take a while to load). */
const REMOTE: Record<RemoteLocation['kind'], ((loc: RemoteLocation, env: NodeJS.ProcessEnv, opts: StoreOptions) => Promise<Backend>) | undefined> = {
  s3: async (loc, env, opts) =>
    (await import('../backend/s3/index.js')).openS3Backend(
      loc as Extract<Location, { kind: 's3' }>,
      env,
      opts.objectLock ? { objectLock: opts.objectLock } : {},
    ),
  azure: async (loc, env) => (await import('../backend/azure/index.js')).openAzureBackend(loc, env),
  sftp: async (loc, env) => (await import('../backend/sftp/index.js')).openSftpBackend(loc, env),
};

const stores = new Map<string, Promise<Backend>>();
let retryListener: ((e: RetryEvent) => void) | undefined;

/** Told of every retried call to a remote store (the CLI logs them). */
export function onStoreRetry(listener: ((e: RetryEvent) => void) | undefined): void {
  retryListener = listener;
}

/** PRISM_STORE_RETRY_SECONDS: how long one call to a remote store is retried before the command fails. */
export function retryPolicyFrom(env: NodeJS.ProcessEnv): RetryPolicy {
  const raw = env.PRISM_STORE_RETRY_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_RETRY;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new PrismError('CONFIG_INVALID', `PRISM_STORE_RETRY_SECONDS="${raw}" is not a number of seconds (e.g. 300).`, {
      variable: 'PRISM_STORE_RETRY_SECONDS',
    });
  }
  return { ...DEFAULT_RETRY, maxElapsedMs: seconds * 1000, baseDelayMs: Math.min(DEFAULT_RETRY.baseDelayMs, seconds * 250) };
}

/** The key of a store's shared client: its location and what its writes carry (a copy may open the same bucket with another retention). */
function storeKey(location: string, opts: StoreOptions): string {
  const lock = opts.objectLock;
  return lock ? `${location}\n${lock.mode}:${lock.days}` : location;
}

/**
 * The storage at a repository location: the one place that picks the backend (a local directory,
 * or S3, Azure Blob or SFTP, wrapped in retries). Worker threads open theirs here too. A remote
 * store's connection is shared by every backend opened on it in this process with the same
 * options and closed by closeConnections (core/open-connections.ts), not by the backend's users.
 */
export async function openBackend(location: string, env: NodeJS.ProcessEnv = process.env, opts: StoreOptions = {}): Promise<Backend> {
  const loc = parseLocation(location);
  if (opts.objectLock && loc.kind !== 's3') {
    throw new PrismError(
      'OBJECT_LOCK_UNAVAILABLE',
      `backup.object_lock is set, but the repository at ${location} is not on S3: prism can keep objects under retention on S3 (Object Lock) only. Put the repository in an S3 bucket with Object Lock, or remove backup.object_lock.`,
      { location },
    );
  }
  if (loc.kind === 'local') return new LocalBackend(loc.path);
  const open = REMOTE[loc.kind];
  if (!open) throw new PrismError('STORE_LOCATION', `This build of prism has no ${loc.kind} backend (${location}).`, { location });
  // one client per store and process (one SSH session, one socket pool), reused by every command of the service
  const key = storeKey(location, opts);
  let store = stores.get(key);
  if (!store) {
    const opening = open(loc, env, opts);
    store = opening;
    stores.set(key, opening);
    opening.then(
      (s) =>
        registerConnection(async () => {
          stores.delete(key);
          await s.close?.();
        }),
      () => stores.delete(key),
    );
  }
  const retrying = new RetryingBackend(await store, systemClock, retryPolicyFrom(env), (e) => retryListener?.(e));
  const cacheDir = metadataCacheDir(location, env);
  // the cache above the read-ahead: a tree frame it holds costs no request, one it lacks is read through a window
  const reading = new ReadAheadBackend(retrying);
  return cacheDir ? new MetadataCache(reading, cacheDir) : reading;
}

/** Bytes free and in total on the storage at `location`, where its store can tell (the repository need not exist yet). */
export async function storageSpace(location: string): Promise<Space | undefined> {
  return spaceOf(await openBackend(location));
}

/** Bytes of every object stored at `location` (0 while there is none). */
export async function repositoryBytes(location: string): Promise<number> {
  const backend = await openBackend(location);
  return (await backend.list('')).reduce((sum, o) => sum + o.size, 0);
}

/** The absolute path of object `name` in a local repository; undefined for a remote one. */
export function localObjectPath(location: string, name: string): string | undefined {
  const loc = parseLocation(location);
  return loc.kind === 'local' && isAbsolute(loc.path) ? new LocalBackend(loc.path).objectPath(name) : undefined;
}

/** True for a repository on a remote store (S3, Azure, SFTP), false for a directory. */
export function isRemoteLocation(location: string): boolean {
  return parseLocation(location).kind !== 'local';
}

/**
 * Whether the object `name` (a record: layout.ts names it) is stored in the repository at a local
 * `location`, without opening the repository (no keys: the name is the same sealed or not);
 * undefined for a remote location, whose caller opens the repository instead.
 */
export async function localObjectPresent(location: string, name: string): Promise<boolean | undefined> {
  const loc = parseLocation(location);
  return loc.kind === 'local' ? new LocalBackend(loc.path).exists(name) : undefined;
}
