import * as v from 'valibot';

const num = v.number();
const str = v.string();

/** A stored database object (schema text or one table's data): its place in the database tree and its checksum. */
const dbObject = v.object({
  /** Node name in the database's directory of the database tree. */
  object: str,
  bytes: num,
  /** SHA-256 over the object's chunk ids, in order (hex): its checksum, as stored. */
  chunks_sha256: v.optional(str),
  /** Backups made before chunks_sha256: SHA-256 of the object's plaintext (hex). */
  sha256: v.optional(str),
});

/** One database dumped with the backup (the URL is stored without its password). */
export const dbRecordSchema = v.object({
  name: str,
  type: v.picklist(['postgres', 'mysql']),
  url: str,
  server_version: str,
  dumped_at: str,
  duration_ms: num,
  bytes: num,
  new_bytes: num,
  schema: v.array(v.object({ ...dbObject.entries, part: str })),
  tables: v.array(v.object({ ...dbObject.entries, name: str, rows: num, columns: v.optional(v.array(str)) })),
  /** PostgreSQL sequences: value and is_called at the snapshot, and the table column owning them. */
  sequences: v.optional(v.array(v.object({ name: str, value: str, is_called: v.boolean(), table: v.nullable(str) }))),
  /** MySQL/MariaDB with binary logging on: the binlog position the dump is consistent with (where a point-in-time replay starts). */
  binlog: v.optional(v.object({ file: str, position: num, gtid: v.optional(str), format: v.optional(str) })),
});

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
  /** Root of the database dumps (one directory per database), kept apart from the file tree `tree`. */
  db_tree: v.optional(v.nullable(str)),
  databases: v.optional(v.array(dbRecordSchema)),
  warnings: v.array(v.object({ path: str, code: str, message: str })),
});

export type Manifest = v.InferOutput<typeof manifestSchema>;
export type ManifestStats = Manifest['stats'];
export type DbRecord = v.InferOutput<typeof dbRecordSchema>;

/** Every root tree a backup references: the files and (when it has databases) the database dumps. */
export function rootTrees(m: Pick<Manifest, 'tree' | 'db_tree'>): string[] {
  return [m.tree, m.db_tree].filter((t): t is string => typeof t === 'string');
}

export function emptyStats(): ManifestStats {
  return { files: 0, dirs: 0, symlinks: 0, original_bytes: 0, stored_bytes: 0, files_read: 0, bytes_read: 0, new_blobs: 0, new_bytes: 0, packs_written: 0 };
}
