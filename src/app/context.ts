import { isRemoteLocation } from '../core/remote-location.js';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ResolvedConfig } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import type { PasswordSource } from '../core/password-source.js';
import type { ScryptParams } from '../codec/master-key.js';
import { PrismError, isPrismError } from '../errors/index.js';
import { Repository, openBackend, type KeyCache, type LockInfo, type LockKind, type RepositoryLock, type StoreOptions } from '../repo/index.js';

/** What every use case receives: configuration, time and a log. */
export interface AppContext {
  readonly config: ResolvedConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Told once when a command has to wait for another process's lock (the CLI says whom it waits for). */
  readonly onLockWait?: (holder: LockInfo) => void;
  /** The cores work is placed on (default: os.availableParallelism()); e.g. whether database dumps get a chunk worker. */
  readonly cores?: number;
  /** The password of an encrypted repository; absent: none was given (opening one is PASSWORD_MISSING). */
  readonly password?: PasswordSource;
  /** Key-derivation parameters of new key files (default: calibrated to this machine). */
  readonly kdf?: ScryptParams;
  /** The key file to try first when opening an encrypted repository (PRISM_KEY_HINT: an id or its prefix). */
  readonly keyHint?: string;
  /**
   * Set when the repository of this context is a copy (`--repo`, the service's copy jobs), not the
   * primary: the copy's name in backup.copies, or its location. Events and drills found there are
   * recorded with it, so that the copy's findings do not stand for the primary's.
   */
  readonly copy?: string;
  /**
   * Master keys unlocked earlier in this process (shared by the contexts of one service or
   * dashboard): opening an encrypted repository again costs no key derivation (repo/repository.ts).
   */
  readonly keyCache?: KeyCache;
}

/** How the context's repository's store is opened: its Object Lock retention (a copy's context carries the copy's own, see copyContext). */
export function storeOptions(ctx: AppContext): StoreOptions {
  return ctx.config.objectLock ? { objectLock: ctx.config.objectLock } : {};
}

/** Takes a repository lock, waiting up to `waitMs` and saying so through ctx.onLockWait. */
export function lockRepository(ctx: AppContext, repo: Repository, kind: LockKind, command: string, waitMs = 0): Promise<RepositoryLock> {
  return repo.lock(
    kind,
    command,
    waitMs,
    (holder) => {
      ctx.logger.info({ event: 'lock.wait', holder }, 'waiting for a repository lock');
      ctx.onLockWait?.(holder);
    },
    ctx.config.host,
  );
}

/**
 * Opens the repository at backup.storage_path. A missing one is REPO_NOT_FOUND naming the path;
 * one created is encrypted when `encrypt` (default: backup.encryption.enabled) says so;
 * with `create` one is created there (and logged), in an existing directory or as a new one whose
 * parent exists: a missing parent is more likely a mistyped path (or an unmounted disk) than a
 * wish, so it is refused rather than created. `env` (default: the process's) gives the store's
 * settings, e.g. a shorter PRISM_STORE_RETRY_SECONDS.
 */
export async function openRepository(
  ctx: AppContext,
  opts: { create?: boolean; encrypt?: boolean; whileDeriving?: () => void; env?: NodeJS.ProcessEnv } = {},
): Promise<Repository> {
  const path = ctx.config.storagePath;
  if (opts.create && !isRemoteLocation(path) && isMissing(path) && isMissing(dirname(path))) {
    throw new PrismError(
      'REPO_NOT_FOUND',
      `No prism repository at ${path}, and prism does not create one there: its parent directory ${dirname(path)} does not exist. Check PRISM_BACKUP_PATH / backup.storage_path for a typo or a disk that is not mounted; if the path is right, create the parent first (mkdir -p ${dirname(path)}).`,
      { path, parent: dirname(path) },
    );
  }
  try {
    const repo = await Repository.open(await openBackend(path, opts.env ?? process.env, storeOptions(ctx)), ctx.clock, {
      create: opts.create ?? false,
      ...(ctx.password ? { password: ctx.password } : {}),
      ...(ctx.keyHint ? { keyHint: ctx.keyHint } : {}),
      ...(ctx.keyCache ? { keyCache: ctx.keyCache } : {}),
      ...(opts.whileDeriving ? { whileDeriving: opts.whileDeriving } : {}),
      ...(opts.create && (opts.encrypt ?? ctx.config.encryption.enabled)
        ? { encrypt: { password: ctx.password ?? noPassword(path), ...(ctx.kdf ? { params: ctx.kdf } : {}) } }
        : {}),
    });
    if (repo.created) ctx.logger.info({ event: 'repository.created', path, encrypted: repo.crypt.encrypted }, `created a new repository at ${path}`);
    if (ctx.config.encryption.enabled && !repo.crypt.encrypted)
      ctx.logger.warn(
        { event: 'repository.unencrypted', path },
        `backup.encryption.enabled is set but the repository at ${path} was created unencrypted: it stays so; to encrypt, point backup.storage_path at a new directory (the next backup creates it encrypted)`,
      );
    return repo;
  } catch (e) {
    if (isPrismError(e) && e.code === 'REPO_NOT_FOUND' && !opts.create) {
      const why = isRemoteLocation(path)
        ? 'the store holds no prism repository there (no config.json)'
        : isMissing(path)
          ? 'the directory does not exist'
          : 'the directory holds no prism repository (no config.json)';
      throw new PrismError(
        'REPO_NOT_FOUND',
        `No prism repository at ${path}: ${why}. Check PRISM_BACKUP_PATH / backup.storage_path; the first \`prism backup create\` creates the repository.`,
        { path },
      );
    }
    throw e;
  }
}

/** A password source that says none was given (a new encrypted repository needs one). */
function noPassword(path: string): PasswordSource {
  return {
    origin: 'no password source',
    read: () =>
      Promise.reject(
        new PrismError(
          'PASSWORD_MISSING',
          `The new repository at ${path} is to be encrypted and no password was given: set PRISM_PASSWORD_FILE or PRISM_PASSWORD_COMMAND, provide the systemd credential prism-password, or run in a terminal to be asked.`,
          { path },
        ),
      ),
  };
}

function isMissing(path: string): boolean {
  try {
    statSync(path);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}
