import { LocalBackend } from '../backend/index.js';
import type { ResolvedConfig } from '../config/index.js';
import type { Clock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { Repository } from '../repo/index.js';

/** What every use case receives: configuration, time and a log. */
export interface AppContext {
  readonly config: ResolvedConfig;
  readonly clock: Clock;
  readonly logger: Logger;
}

export function repoBackend(ctx: AppContext): LocalBackend {
  return new LocalBackend(ctx.config.storagePath);
}

export function openRepository(ctx: AppContext, opts: { create?: boolean } = {}): Promise<Repository> {
  return Repository.open(repoBackend(ctx), ctx.clock, opts);
}
