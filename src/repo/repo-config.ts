import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { DEFAULT_CHUNKER } from '../codec/chunker.js';
import { FORMAT_VERSION, PLAIN_FORMAT_VERSION } from './layout.js';

const size = v.pipe(v.number(), v.integer(), v.minValue(1));

export const repoConfigSchema = v.pipe(
  v.object({
    format: v.literal('prism-repository'),
    version: v.pipe(v.number(), v.integer()),
    id: v.pipe(v.string(), v.regex(/^[0-9a-f]{32}$/)),
    created: v.string(),
    /** The seed is here only when unencrypted: an encrypted repository keeps it in its keyring. */
    chunker: v.object({ seed: v.optional(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))), min: size, avg: size, max: size }),
    encryption: v.optional(v.object({ cipher: v.literal('aes-256-gcm'), ids: v.literal('hmac-sha256') })),
  }),
  v.check((c) => (c.encryption === undefined) === (c.chunker.seed !== undefined), 'an unencrypted repository has a chunker seed, an encrypted one none'),
);

export type RepoConfig = v.InferOutput<typeof repoConfigSchema>;

export function newRepoConfig(now: Date, opts: { encrypted?: boolean } = {}): RepoConfig {
  const chunker = { min: DEFAULT_CHUNKER.minSize, avg: DEFAULT_CHUNKER.avgSize, max: DEFAULT_CHUNKER.maxSize };
  const base = { format: 'prism-repository' as const, id: randomBytes(16).toString('hex'), created: now.toISOString() };
  if (opts.encrypted) return { ...base, version: FORMAT_VERSION, chunker, encryption: { cipher: 'aes-256-gcm', ids: 'hmac-sha256' } };
  return { ...base, version: PLAIN_FORMAT_VERSION, chunker: { seed: randomBytes(32).toString('hex'), ...chunker } };
}
