import { z } from 'zod';

/** A snapshot manifest: one backup, as `prism backup list|info` shows it. */
export const manifestSchema = z.object({
  format: z.literal(1),
  id: z.string().regex(/^backup_\d{8}_\d{6}_(full|incremental)(_\d+)?$/),
  type: z.enum(['full', 'incremental']),
  status: z.enum(['running', 'completed', 'partial', 'failed', 'corrupted']),
  trigger: z.enum(['manual', 'scheduled']),
  parent: z.string().nullable(),
  comment: z.string().nullable(),
  host: z.string(),
  user: z.string(),
  home: z.string(),
  sources: z.array(z.string()),
  excludes: z.array(z.string()),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  duration_ms: z.number().nullable(),
  /** Root tree id (hex); null for a failed attempt. */
  tree: z.string().nullable(),
  /** "sha256:<root tree id>": the Merkle root over every tree and chunk of the backup. */
  checksum: z.string().nullable(),
  compression: z.object({ algorithm: z.string(), level: z.number(), enabled: z.boolean() }),
  stats: z.object({
    files: z.number(),
    dirs: z.number(),
    symlinks: z.number(),
    /** Plaintext bytes of all files in the backup. */
    original_bytes: z.number(),
    /** Compressed bytes of the data the backup references. */
    stored_bytes: z.number(),
    /** Files read (the rest reused from the parent). */
    files_read: z.number(),
    bytes_read: z.number(),
    /** Blobs and bytes this backup added to the repository. */
    new_blobs: z.number(),
    new_bytes: z.number(),
    packs_written: z.number(),
  }),
  error: z.object({ code: z.string(), name: z.string(), message: z.string() }).nullable(),
  warnings: z.array(z.object({ path: z.string(), code: z.string(), message: z.string() })),
});

export type Manifest = z.infer<typeof manifestSchema>;
export type ManifestStats = Manifest['stats'];

export function emptyStats(): ManifestStats {
  return { files: 0, dirs: 0, symlinks: 0, original_bytes: 0, stored_bytes: 0, files_read: 0, bytes_read: 0, new_blobs: 0, new_bytes: 0, packs_written: 0 };
}
