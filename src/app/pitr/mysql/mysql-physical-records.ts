import * as v from 'valibot';
import type { KeptBinlogStart } from '../../../policy/binlog-retention.js';
import type { PrismError } from '../../../errors/index.js';
import { MYSQL_BASE_RECORDS, mysqlBaseRecordName, type Repository } from '../../../repo/index.js';

/**
 * MariaDB physical base backups (`prism mysql basebackup`): `mysql/base/<id>.json` per backup,
 * beside the binary log archive. The record names the mariabackup xbstream archive as chunk ids
 * in the shared packs (deduplicated with everything else; prune keeps what it references) and
 * the binary log position mariabackup read under its lock, where a replay starts.
 */
export const physicalRecordSchema = v.object({
  format: v.literal(1),
  id: v.pipe(v.string(), v.regex(/^mysqlbase_\d{8}_\d{6}(_\d+)?$/)),
  /** The backup.databases entry the server was named by (its binary log archive is `mysql/binlog/<database>/`), or null for --url. */
  database: v.nullable(v.string()),
  started_at: v.string(),
  finished_at: v.string(),
  server: v.object({ url: v.string(), version: v.string(), datadir: v.string(), server_id: v.number() }),
  /** null: binary logging was off, so there is nothing to replay from. */
  binlog: v.nullable(v.object({ file: v.string(), position: v.number(), gtid: v.optional(v.string()), format: v.optional(v.string()) })),
  tool: v.string(),
  size: v.number(),
  sha256: v.string(),
  content: v.array(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))),
});
export type PhysicalRecord = v.InferOutput<typeof physicalRecordSchema>;

export function putPhysicalRecord(repo: Repository, r: PhysicalRecord): Promise<boolean> {
  return repo.createRecord(mysqlBaseRecordName(r.id), r, 2);
}

/** Oldest first (by finish time). */
export async function listPhysicalRecords(repo: Repository): Promise<PhysicalRecord[]> {
  const out = await repo.listRecords(MYSQL_BASE_RECORDS, physicalRecordSchema);
  return out.sort((a, b) => (a.finished_at < b.finished_at ? -1 : a.finished_at > b.finished_at ? 1 : a.id < b.id ? -1 : 1));
}

/** Every record that parses, for verification; a damaged one goes to `onDamaged`. */
export function scanPhysicalRecords(repo: Repository, onDamaged: (name: string, e: PrismError) => void): Promise<PhysicalRecord[]> {
  return repo.listRecords(MYSQL_BASE_RECORDS, physicalRecordSchema, onDamaged);
}

/** Removes a base backup's record; its data goes with the next prune. */
export function deletePhysicalRecord(repo: Repository, id: string): Promise<void> {
  return repo.deleteRecord(mysqlBaseRecordName(id));
}

/** Every chunk the physical base backups reference, but those of `gone`. */
export async function physicalBaseBlobs(repo: Repository, gone?: ReadonlySet<string>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const r of await listPhysicalRecords(repo)) if (!gone?.has(r.id)) for (const id of r.content) out.add(id);
  return out;
}

/** Where the kept physical base backups start in each database's binary log: the archive keeps what their replay reads. */
export async function physicalStarts(repo: Repository, gone?: ReadonlySet<string>): Promise<KeptBinlogStart[]> {
  return (await listPhysicalRecords(repo)).flatMap((r) =>
    r.database !== null && r.binlog && !gone?.has(r.id) ? [{ database: r.database, backup: r.id, file: r.binlog.file, dumped_at: r.started_at }] : [],
  );
}
