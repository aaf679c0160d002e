import * as v from 'valibot';

/** backup.json: the SOP §9.1 keys, plus `sources`, `compression.algorithm`, `concurrency`, `verbose`. */
const count = v.pipe(v.number(), v.integer(), v.minValue(0));
const cron = v.pipe(v.string(), v.nonEmpty('a cron expression such as "0 2 * * 0"'));

/** A JSON object with exactly these keys (valibot's strictObject alone would take an array). */
function section<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(
    v.custom<Record<string, unknown>>((x) => typeof x === 'object' && x !== null && !Array.isArray(x), 'expected an object'),
    v.strictObject(entries),
  );
}
const relativePath = v.pipe(
  v.string(),
  v.nonEmpty(),
  v.check((p) => !p.startsWith('/') && !p.split('/').includes('..'), 'a path relative to PRISM_HOME without ".."'),
);

export const retentionSchema = section({
  full_backups_count: v.optional(count, 7),
  full_backups_age_days: v.optional(count, 7),
  incremental_backups_count: v.optional(count, 30),
  incremental_backups_age_days: v.optional(count, 30),
  max_total_backups: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 50),
});

export const scheduleSchema = section({
  full_backup: v.optional(cron, '0 2 * * 0'),
  incremental_backup: v.optional(cron, '0 3 * * 1-5'),
  cleanup: v.optional(cron, '0 4 * * 0'),
});

export const compressionSchema = v.pipe(
  section({
    enabled: v.optional(v.boolean(), true),
    algorithm: v.optional(v.picklist(['zstd', 'gzip']), 'zstd'),
    /** zstd: 1–19 (default 3); gzip: 1–9 (default 6). */
    level: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(19))),
  }),
  v.forward(
    v.check((c) => c.algorithm !== 'gzip' || c.level === undefined || c.level <= 9, 'gzip levels run from 1 to 9'),
    ['level'],
  ),
);

/** zstd 3 (fast, ~70 % on text), gzip 6 (gzip's own default). */
export function defaultCompressionLevel(algorithm: 'zstd' | 'gzip'): number {
  return algorithm === 'zstd' ? 3 : 6;
}

export const checksumSchema = section({
  algorithm: v.optional(v.literal('sha256'), 'sha256'),
  verify_on_restore: v.optional(v.boolean(), true),
});

export const sourcesSchema = section({
  include: v.optional(v.pipe(v.array(relativePath), v.minLength(1)), () => ['level-1-hot', 'level-2-warm', 'level-3-cold', 'config']),
  exclude: v.optional(v.array(v.pipe(v.string(), v.nonEmpty())), () => ['logs', 'temp', 'node_modules', '.git']),
});

export const backupSectionSchema = section({
  enabled: v.optional(v.boolean(), true),
  storage_path: v.optional(v.pipe(v.string(), v.nonEmpty()), '~/.prism-gateway-backups'),
  retention_policy: v.optional(retentionSchema, {}),
  schedule: v.optional(scheduleSchema, {}),
  compression: v.optional(compressionSchema, {}),
  checksum: v.optional(checksumSchema, {}),
  sources: v.optional(sourcesSchema, {}),
  /** Worker threads for hashing and compression; PRISM_BACKUP_CONCURRENCY overrides. */
  concurrency: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(64))),
  verbose: v.optional(v.boolean(), false),
});

export const configFileSchema = section({
  backup: v.optional(backupSectionSchema, {}),
});

export type ConfigFile = v.InferOutput<typeof configFileSchema>;
export type BackupSection = v.InferOutput<typeof backupSectionSchema>;
