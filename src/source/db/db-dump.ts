/** What a database dumper produces and where it writes it: the contract between source/ and snapshot/. */

/** One object being stored (chunked, deduplicated, compressed) as it streams. */
export interface DumpObjectWriter {
  write(data: Uint8Array): Promise<void>;
  /** Ends the object; resolves with its size and checksum (hex; the repository's: SHA-256 over its chunk ids). */
  close(): Promise<{ bytes: number; checksum: string }>;
}

/**
 * A failure of the sink (the repository side: a full disk, a chunk worker that died), not of the
 * database: dumpers pass it on as it is instead of reporting a database error, and the sink's
 * owner unwraps `reason`.
 */
export class SinkError extends Error {
  constructor(readonly reason: unknown) {
    super(reason instanceof Error ? reason.message : String(reason));
    this.name = 'SinkError';
  }
}

/** Stores named objects of one database; several may be open at once. */
export interface DumpSink {
  open(object: string): DumpObjectWriter;
}

/** A dump made ready (connected, its snapshot taken): `run` it once into a sink. */
export interface PreparedDump {
  run(sink: DumpSink): Promise<DumpResult>;
}

export interface DumpedObject {
  object: string;
  bytes: number;
  /** What the sink's close gave (the repository's: SHA-256 over the object's chunk ids, hex). */
  checksum: string;
}

export interface DumpedTable extends DumpedObject {
  /** PostgreSQL: schema.table; MySQL: table. */
  name: string;
  rows: number;
  /** PostgreSQL: the columns in the order of the data (COPY column list). */
  columns?: string[];
}

export interface DumpResult {
  serverVersion: string;
  schema: Array<DumpedObject & { part: string }>;
  tables: DumpedTable[];
  sequences?: Array<{ name: string; value: string; is_called: boolean; table: string | null }>;
  /** MySQL/MariaDB with binary logging on: the binlog position the dump is consistent with. */
  binlog?: BinlogPosition;
}

/** A place in a MySQL/MariaDB binary log: replaying from here on the dump gives later states. */
export interface BinlogPosition {
  /** Binary log file name, e.g. `mysql-bin.000042`. */
  file: string;
  /** Byte offset in it: the first event not in the dump. */
  position: number;
  /** MariaDB GTID position (gtid_binlog_pos) at the same point, when the server reports one. */
  gtid?: string;
  /** binlog_format of the server at the dump (ROW, MIXED, STATEMENT). */
  format?: string;
}

export interface TableFilter {
  include?: readonly string[] | undefined;
  exclude?: readonly string[] | undefined;
}

/** Safety copies made by `prism db restore` are not backed up again. */
export const SAFETY_PREFIX = '_prism_safety_';

/** Object names in a database's directory of the backup's database tree. */
export const SCHEMA_OBJECT = 'schema.sql';
export const POST_SCHEMA_OBJECT = 'schema-post.sql';
export function tableObject(name: string): string {
  return `table.${encodeURIComponent(name)}`;
}

/**
 * Whether a table passes include/exclude. Patterns match the full name (`public.users`) or the
 * bare table name (`users`); `*` matches any run of characters.
 */
export function tableSelected(name: string, f: TableFilter): boolean {
  const bare = name.includes('.') ? name.slice(name.indexOf('.') + 1) : name;
  const matches = (pattern: string): boolean => {
    const re = new RegExp(
      `^${pattern
        .split('*')
        .map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.*')}$`,
    );
    return re.test(name) || re.test(bare);
  };
  if (bare.startsWith(SAFETY_PREFIX)) return false;
  if (f.include && f.include.length > 0 && !f.include.some(matches)) return false;
  return !(f.exclude ?? []).some(matches);
}
