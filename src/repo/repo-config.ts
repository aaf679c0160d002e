import { randomBytes } from 'node:crypto';
import * as v from 'valibot';
import { DEFAULT_CHUNKER } from '../codec/chunker.js';
import { FORMAT_VERSION } from './layout.js';

const size = v.pipe(v.number(), v.integer(), v.minValue(1));

export const repoConfigSchema = v.object({
  format: v.literal('prism-repository'),
  version: v.pipe(v.number(), v.integer()),
  id: v.string(),
  created: v.string(),
  chunker: v.object({ seed: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)), min: size, avg: size, max: size }),
});

export type RepoConfig = v.InferOutput<typeof repoConfigSchema>;

export function newRepoConfig(now: Date): RepoConfig {
  return {
    format: 'prism-repository',
    version: FORMAT_VERSION,
    id: randomBytes(16).toString('hex'),
    created: now.toISOString(),
    chunker: { seed: randomBytes(32).toString('hex'), min: DEFAULT_CHUNKER.minSize, avg: DEFAULT_CHUNKER.avgSize, max: DEFAULT_CHUNKER.maxSize },
  };
}
