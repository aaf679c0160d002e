import { LocalBackend } from '../backend/index.js';
import type { ResolvedConfig } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { Repository, type LockInfo, type LockKind, type RepositoryLock } from '../repo/index.js';

/** What every use case receives: configuration, time and a log. */
export interface AppContext {
  readonly config: ResolvedConfig;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Told once when a command has to wait for another process's lock (the CLI says whom it waits for). */
  readonly onLockWait?: (holder: LockInfo) => void;
  /** The cores work is placed on (default: os.availableParallelism()); e.g. whether database dumps get a chunk worker. */
  readonly cores?: number;
}

/** Takes a repository lock, waiting up to `waitMs` and saying so through ctx.onLockWait. */
export function lockRepository(ctx: AppContext, repo: Repository, kind: LockKind, command: string, waitMs = 0): Promise<RepositoryLock> {
  return repo.lock(kind, command, waitMs, (holder) => {
    ctx.logger.info({ event: 'lock.wait', holder }, 'waiting for a repository lock');
    ctx.onLockWait?.(holder);
  });
}

export function repoBackend(ctx: AppContext): LocalBackend {
  return new LocalBackend(ctx.config.storagePath);
}

export function openRepository(ctx: AppContext, opts: { create?: boolean } = {}): Promise<Repository> {
  return Repository.open(repoBackend(ctx), ctx.clock, opts);
}
