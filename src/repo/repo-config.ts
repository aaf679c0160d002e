import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { DEFAULT_CHUNKER } from '../codec/chunker.js';
import { FORMAT_VERSION } from './layout.js';

export const repoConfigSchema = z.object({
  format: z.literal('prism-repository'),
  version: z.number().int(),
  id: z.string(),
  created: z.string(),
  chunker: z.object({
    seed: z.string().regex(/^[0-9a-f]{64}$/),
    min: z.number().int().positive(),
    avg: z.number().int().positive(),
    max: z.number().int().positive(),
  }),
});

export type RepoConfig = z.infer<typeof repoConfigSchema>;

export function newRepoConfig(now: Date): RepoConfig {
  return {
    format: 'prism-repository',
    version: FORMAT_VERSION,
    id: randomBytes(16).toString('hex'),
    created: now.toISOString(),
    chunker: { seed: randomBytes(32).toString('hex'), min: DEFAULT_CHUNKER.minSize, avg: DEFAULT_CHUNKER.avgSize, max: DEFAULT_CHUNKER.maxSize },
  };
}
