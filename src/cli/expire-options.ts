import type { Command } from 'commander';
import { parseDuration } from './parse-duration.js';

export interface ExpireFlags {
  dryRun?: boolean;
  /** commander's --no-prune: false when given. */
  prune: boolean;
  lockWait?: string;
}

/** The flags `pg expire` and `mysql expire` share. */
export function expireOptions(c: Command): Command {
  return c
    .option('--dry-run', 'list what would go and why, and what it frees')
    .option('--no-prune', 'remove the records only; leave their data for a later `prism backup prune`')
    .option('--lock-wait <duration>', 'wait this long for other prism processes (e.g. 5m)');
}

/** The app layer's options from those flags. */
export function expireArgs(opts: ExpireFlags): { dryRun: boolean; prune: boolean; lockWaitMs?: number } {
  return { dryRun: opts.dryRun ?? false, prune: opts.prune, ...(opts.lockWait ? { lockWaitMs: parseDuration('--lock-wait', opts.lockWait) } : {}) };
}
