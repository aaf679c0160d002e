import * as v from 'valibot';
import { PrismError } from '../../../errors/index.js';
import { parseLsn } from '../../../source/postgres/pg-wal-name.js';
import {
  BASE_RECORDS,
  RESTORE_POINT_RECORDS,
  WAL_RECORDS,
  baseRecordName,
  restorePointRecordName,
  walRecordName,
  type Repository,
} from '../../../repo/index.js';

/**
 * PostgreSQL archive records in the repository, next to the backups' manifests:
 * `pg/wal/<file name>.json` per archived WAL file and `pg/base/<id>.json` per base backup. Each
 * names its content as chunk ids in the shared packs, so data is deduplicated with everything
 * else, and prune keeps what they reference (see referencedBlobs).
 */
const content = v.array(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)));

export const walRecordSchema = v.object({
  format: v.literal(1),
  name: v.string(),
  size: v.number(),
  sha256: v.string(),
  content,
  archived_at: v.string(),
});
export type WalRecord = v.InferOutput<typeof walRecordSchema>;

export const baseRecordSchema = v.object({
  format: v.literal(1),
  id: v.pipe(v.string(), v.regex(/^pgbase_\d{8}_\d{6}(_\d+)?$/)),
  started_at: v.string(),
  finished_at: v.string(),
  server: v.object({ version: v.string(), system_identifier: v.string(), wal_segment_size: v.number() }),
  timeline: v.number(),
  start_lsn: v.string(),
  stop_lsn: v.string(),
  start_wal: v.string(),
  stop_wal: v.string(),
  size: v.number(),
  sha256: v.string(),
  content,
  label: v.string(),
  /** The server's next transaction id (epoch-qualified) once the backup had finished: transactions from it on commit after the backup. */
  next_xid: v.optional(v.string()),
});
export type BaseRecord = v.InferOutput<typeof baseRecordSchema>;

export function readWalRecord(repo: Repository, name: string): Promise<WalRecord | undefined> {
  return repo.loadRecord(walRecordName(name), walRecordSchema);
}

/** Writes the record unless one exists (then false: archiving never replaces a stored file). */
export function putWalRecord(repo: Repository, r: WalRecord): Promise<boolean> {
  return repo.createRecord(walRecordName(r.name), r);
}

export async function listWalRecords(repo: Repository): Promise<WalRecord[]> {
  const out = await repo.listRecords(WAL_RECORDS, walRecordSchema);
  return out.sort((a, b) => (a.name < b.name ? -1 : 1));
}

export async function putBaseRecord(repo: Repository, r: BaseRecord): Promise<boolean> {
  return repo.createRecord(baseRecordName(r.id), r, 2);
}

export async function listBaseRecords(repo: Repository): Promise<BaseRecord[]> {
  const out = await repo.listRecords(BASE_RECORDS, baseRecordSchema);
  return out.sort((a, b) => (a.finished_at < b.finished_at ? -1 : 1));
}

/** A named point in the WAL (`prism pg restore-point NAME`: pg_create_restore_point on the server). */
export const restorePointRecordSchema = v.object({
  format: v.literal(1),
  name: v.string(),
  lsn: v.string(),
  timeline: v.number(),
  created_at: v.string(),
  system_identifier: v.string(),
});
export type RestorePointRecord = v.InferOutput<typeof restorePointRecordSchema>;

/** `<timeline, 8 hex digits><LSN, 16 hex digits>`: one record per point, in WAL order within a timeline. */
export const restorePointKey = (timeline: number, lsn: bigint): string =>
  `${timeline.toString(16).toUpperCase().padStart(8, '0')}${lsn.toString(16).toUpperCase().padStart(16, '0')}`;

export function putRestorePointRecord(repo: Repository, r: RestorePointRecord, key: string): Promise<boolean> {
  return repo.createRecord(restorePointRecordName(key), r, 2);
}

export async function listRestorePointRecords(repo: Repository, onDamaged?: (name: string, e: PrismError) => void): Promise<RestorePointRecord[]> {
  const out = await repo.listRecords(RESTORE_POINT_RECORDS, restorePointRecordSchema, onDamaged);
  return out.sort((a, b) => (a.created_at < b.created_at ? -1 : 1));
}

/** Removes a restore point's record (it has no data of its own). */
export function deleteRestorePointRecord(repo: Repository, r: RestorePointRecord): Promise<void> {
  return repo.deleteRecord(restorePointRecordName(restorePointKey(r.timeline, parseLsn(r.lsn))));
}

/** Records about to be deleted (a dry run plans the prune as if they were gone). */
export interface PgRecordNames {
  wal: ReadonlySet<string>;
  base: ReadonlySet<string>;
}

/** Every chunk the WAL archive and the base backups reference, but those of `gone` (a damaged record stops the caller). */
export async function pgArchiveBlobs(repo: Repository, gone?: PgRecordNames): Promise<Set<string>> {
  const out = new Set<string>();
  for (const r of await listWalRecords(repo)) if (!gone?.wal.has(r.name)) for (const id of r.content) out.add(id);
  for (const r of await listBaseRecords(repo)) if (!gone?.base.has(r.id)) for (const id of r.content) out.add(id);
  return out;
}

/** Removes a base backup's record; its data goes with the next prune. */
export function deleteBaseRecord(repo: Repository, id: string): Promise<void> {
  return repo.deleteRecord(baseRecordName(id));
}

/** Removes an archived WAL file's record; its data goes with the next prune. */
export function deleteWalRecord(repo: Repository, name: string): Promise<void> {
  return repo.deleteRecord(walRecordName(name));
}

export interface PgRecords {
  wal: WalRecord[];
  base: BaseRecord[];
}

/** Both kinds of records; a record that does not parse is passed to `onDamaged` and left out. */
export async function scanPgRecords(repo: Repository, onDamaged: (name: string, e: PrismError) => void): Promise<PgRecords> {
  return { wal: await repo.listRecords(WAL_RECORDS, walRecordSchema, onDamaged), base: await repo.listRecords(BASE_RECORDS, baseRecordSchema, onDamaged) };
}
