import * as v from 'valibot';

const num = v.number();
const str = v.string();

/** A snapshot manifest: one backup, as `prism backup list|info` shows it. */
export const manifestSchema = v.object({
  format: v.literal(1),
  id: v.pipe(str, v.regex(/^backup_\d{8}_\d{6}_(full|incremental)(_\d+)?$/)),
  type: v.picklist(['full', 'incremental']),
  status: v.picklist(['running', 'completed', 'partial', 'failed', 'corrupted']),
  trigger: v.picklist(['manual', 'scheduled']),
  parent: v.nullable(str),
  comment: v.nullable(str),
  host: str,
  user: str,
  home: str,
  sources: v.array(str),
  excludes: v.array(str),
  started_at: str,
  finished_at: v.nullable(str),
  duration_ms: v.nullable(num),
  /** Root tree id (hex); null for a failed attempt. */
  tree: v.nullable(str),
  /** "sha256:<root tree id>": the Merkle root over every tree and chunk of the backup. */
  checksum: v.nullable(str),
  compression: v.object({ algorithm: str, level: num, enabled: v.boolean() }),
  stats: v.object({
    files: num,
    dirs: num,
    symlinks: num,
    /** Plaintext bytes of all files in the backup. */
    original_bytes: num,
    /** Compressed bytes of the data the backup references. */
    stored_bytes: num,
    /** Files read (the rest reused from the parent). */
    files_read: num,
    bytes_read: num,
    /** Blobs and bytes this backup added to the repository. */
    new_blobs: num,
    new_bytes: num,
    packs_written: num,
  }),
  error: v.nullable(v.object({ code: str, name: str, message: str })),
  warnings: v.array(v.object({ path: str, code: str, message: str })),
});

export type Manifest = v.InferOutput<typeof manifestSchema>;
export type ManifestStats = Manifest['stats'];

export function emptyStats(): ManifestStats {
  return { files: 0, dirs: 0, symlinks: 0, original_bytes: 0, stored_bytes: 0, files_read: 0, bytes_read: 0, new_blobs: 0, new_bytes: 0, packs_written: 0 };
}
