import { PrismError } from '../errors/index.js';

/** PRISM_STORE_STALL_SECONDS (default 60): how long a request to a remote store may make no progress before it is cut (and retried as transient). */
export function stallMilliseconds(env: NodeJS.ProcessEnv): number {
  const raw = env.PRISM_STORE_STALL_SECONDS?.trim();
  if (!raw) return 60_000;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new PrismError('CONFIG_INVALID', `PRISM_STORE_STALL_SECONDS=${raw} is not understood: give a number of seconds greater than 0 (default 60).`, {
      variable: 'PRISM_STORE_STALL_SECONDS',
      value: raw,
    });
  }
  return Math.max(1, Math.round(seconds * 1000));
}
