import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import * as v from 'valibot';
import { BINLOG_RECORDS, binlogRecordDir, binlogRecordName, type Repository } from '../../../repo/index.js';
import { binlogSequence } from '../../../source/mysql/mysql-binlog.js';
import type { PrismError } from '../../../errors/index.js';
import { readStream } from '../blob-store.js';

/**
 * MySQL/MariaDB binary log archive records, next to the PostgreSQL ones:
 * `mysql/binlog/<database>/<file name>.json` per archived file, `<database>` being the name in
 * backup.databases (the name `prism db restore --db` takes). Each names its content as chunk ids
 * in the shared packs; prune keeps what they reference.
 */
export const binlogRecordSchema = v.object({
  format: v.literal(1),
  database: v.string(),
  name: v.string(),
  size: v.number(),
  sha256: v.string(),
  content: v.array(v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/))),
  /** Time of the file's first event (its Format_description: when the server opened it). */
  first_event_at: v.string(),
  /** Time of its last event (the Rotate or Stop event: when the server closed it). */
  last_event_at: v.string(),
  server_id: v.number(),
  archived_at: v.string(),
});
export type BinlogRecord = v.InferOutput<typeof binlogRecordSchema>;

export function readBinlogRecord(repo: Repository, db: string, file: string): Promise<BinlogRecord | undefined> {
  return repo.loadRecord(binlogRecordName(db, file), binlogRecordSchema);
}

/** Every archived file's record that parses, for verification; a damaged one goes to `onDamaged`. */
export function scanBinlogRecords(repo: Repository, onDamaged: (name: string, e: PrismError) => void): Promise<BinlogRecord[]> {
  return repo.listRecords(BINLOG_RECORDS, binlogRecordSchema, onDamaged);
}

/** Writes the record unless one exists (then false: archiving never replaces a stored file). */
export function putBinlogRecord(repo: Repository, r: BinlogRecord): Promise<boolean> {
  return repo.createRecord(binlogRecordName(r.database, r.name), r);
}

/** The archived files of one database (or of all), in binary log order. */
export async function listBinlogRecords(repo: Repository, db?: string): Promise<BinlogRecord[]> {
  const out = await repo.listRecords(db === undefined ? BINLOG_RECORDS : binlogRecordDir(db), binlogRecordSchema);
  return out.sort((a, b) =>
    a.database !== b.database ? (a.database < b.database ? -1 : 1) : binlogSequence(a.name).seq - binlogSequence(b.name).seq || (a.name < b.name ? -1 : 1),
  );
}

/** Removes an archived file's record; its data goes with the next prune. */
export function deleteBinlogRecord(repo: Repository, db: string, file: string): Promise<void> {
  return repo.deleteRecord(binlogRecordName(db, file));
}

/** How a dry run names a record about to go: `<database>/<file name>`. */
export function binlogKey(db: string, file: string): string {
  return `${db}/${file}`;
}

/** Every chunk the binary log archive references, but the records in `gone` (a damaged record stops the caller). */
export async function binlogArchiveBlobs(repo: Repository, gone?: ReadonlySet<string>): Promise<Set<string>> {
  const out = new Set<string>();
  for (const r of await listBinlogRecords(repo)) if (!gone?.has(binlogKey(r.database, r.name))) for (const id of r.content) out.add(id);
  return out;
}

/** Writes archived binary log files into `dir` under their names (checked against their sha256 as read); returns their paths. */
export async function writeBinlogs(repo: Repository, records: readonly BinlogRecord[], dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const r of records) {
    const path = join(dir, r.name);
    const fh = await fsp.open(path, 'w', 0o600);
    try {
      for await (const chunk of readStream(repo, r.content, r.sha256)) await fh.write(chunk);
    } finally {
      await fh.close();
    }
    files.push(path);
  }
  return files;
}
