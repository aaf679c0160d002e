import { z } from 'zod';

/** backup.json: the SOP §9.1 keys, plus `sources` and `compression.algorithm`. */
const count = z.number().int().min(0);

export const retentionSchema = z.strictObject({
  full_backups_count: count.default(7),
  full_backups_age_days: count.default(7),
  incremental_backups_count: count.default(30),
  incremental_backups_age_days: count.default(30),
  max_total_backups: z.number().int().min(1).default(50),
});

export const scheduleSchema = z.strictObject({
  full_backup: z.string().min(1).default('0 2 * * 0'),
  incremental_backup: z.string().min(1).default('0 3 * * 1-5'),
  cleanup: z.string().min(1).default('0 4 * * 0'),
});

export const compressionSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    algorithm: z.enum(['zstd', 'gzip']).default('zstd'),
    /** zstd: 1–19 (default 3); gzip: 1–9 (default 6). */
    level: z.number().int().min(1).max(19).optional(),
  })
  .refine((c) => c.algorithm !== 'gzip' || c.level === undefined || c.level <= 9, {
    message: 'gzip levels run from 1 to 9',
    path: ['level'],
  });

export const checksumSchema = z.strictObject({
  algorithm: z.literal('sha256').default('sha256'),
  verify_on_restore: z.boolean().default(true),
});

const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a path relative to PRISM_HOME without ".."');

export const sourcesSchema = z.strictObject({
  include: z.array(relativePath).min(1).default(['level-1-hot', 'level-2-warm', 'level-3-cold', 'config']),
  exclude: z.array(z.string().min(1)).default(['logs', 'temp', 'node_modules', '.git']),
});

export const backupSectionSchema = z.strictObject({
  enabled: z.boolean().default(true),
  storage_path: z.string().min(1).default('~/.prism-gateway-backups'),
  retention_policy: retentionSchema.default(() => retentionSchema.parse({})),
  schedule: scheduleSchema.default(() => scheduleSchema.parse({})),
  compression: compressionSchema.default(() => compressionSchema.parse({})),
  checksum: checksumSchema.default(() => checksumSchema.parse({})),
  sources: sourcesSchema.default(() => sourcesSchema.parse({})),
  /** Worker threads for hashing and compression; PRISM_BACKUP_CONCURRENCY overrides. */
  concurrency: z.number().int().min(1).max(64).optional(),
  verbose: z.boolean().default(false),
});

export const configFileSchema = z.strictObject({
  backup: backupSectionSchema.default(() => backupSectionSchema.parse({})),
});

export type ConfigFile = z.infer<typeof configFileSchema>;
export type BackupSection = z.infer<typeof backupSectionSchema>;
