import { binlogSequence } from '../core/binlog-name.js';

/**
 * Retention of the MySQL/MariaDB binary log archive, as a pure function of (archived files, the
 * dumps of the backups that are kept): a point-in-time restore replays the archived files of one
 * binary log series (`<base>.<number>`) from a backup's dump position on, so every file before
 * the oldest kept backup's position in its series is needed by no replay and expires.
 *
 * - A database no kept backup has a binlog position for keeps all its files (nothing tells
 *   which are unneeded), with a warning; the PostgreSQL WAL archive is handled the same way.
 * - A series no kept position is in (the server's log-bin base name changed) loses the files
 *   whose last event came before the earliest kept dump of that database: a replay only reads
 *   events after its dump.
 */
export interface ArchivedBinlogFile {
  database: string;
  name: string;
  /** Time of its last event (ISO). */
  last_event_at: string;
}

/** Where a kept backup's dump of `database` stands in the binary log. */
export interface KeptBinlogStart {
  database: string;
  backup: string;
  file: string;
  /** When the dump was taken (ISO). */
  dumped_at: string;
}

export interface BinlogDatabasePlan {
  database: string;
  /** The kept backup whose position is the oldest of its series (the newest series when several), or null. */
  oldest_kept_backup: string | null;
  first_kept_file: string | null;
  kept: number;
  /** File names that expire, in binary log order. */
  expired: string[];
}

export interface BinlogPlan {
  databases: BinlogDatabasePlan[];
  warnings: string[];
}

const series = binlogSequence; // the name format, shared with the archiver and the replay

/** Per binary log series of `database`, the number of the first file a kept backup's replay reads. */
export function firstNeeded(starts: readonly KeptBinlogStart[], database: string): Map<string, KeptBinlogStart> {
  const firstOf = new Map<string, KeptBinlogStart>();
  for (const s of starts) {
    if (s.database !== database) continue;
    const { base, seq } = series(s.file);
    const cur = firstOf.get(base);
    if (!cur || seq < series(cur.file).seq) firstOf.set(base, s);
  }
  return firstOf;
}

/** Whether archiving `file` is of no use: a kept backup's replay starts later in the same series. */
export function beforeFirstNeeded(firstOf: ReadonlyMap<string, KeptBinlogStart>, file: string): boolean {
  const { base, seq } = series(file);
  const start = firstOf.get(base);
  return start !== undefined && seq < series(start.file).seq;
}

export function planBinlogExpiry(files: readonly ArchivedBinlogFile[], starts: readonly KeptBinlogStart[]): BinlogPlan {
  const warnings: string[] = [];
  const databases = [...new Set(files.map((f) => f.database))].sort();
  const plans = databases.map((database): BinlogDatabasePlan => {
    const mine = files.filter((f) => f.database === database).sort((a, b) => cmpName(a.name, b.name));
    const kept = starts.filter((s) => s.database === database);
    if (kept.length === 0) {
      warnings.push(
        `No kept backup of ${database} records a binary log position, so none of its ${mine.length} archived binary log file(s) is known to be unneeded: they are kept.`,
      );
      return { database, oldest_kept_backup: null, first_kept_file: null, kept: mine.length, expired: [] };
    }
    const firstOf = firstNeeded(kept, database);
    const earliestDump = Math.min(...kept.map((s) => Date.parse(s.dumped_at)));
    const expired = mine
      .filter((f) => (firstOf.has(series(f.name).base) ? beforeFirstNeeded(firstOf, f.name) : Date.parse(f.last_event_at) < earliestDump))
      .map((f) => f.name);
    const oldest = [...firstOf.values()].sort((a, b) => Date.parse(b.dumped_at) - Date.parse(a.dumped_at))[0]!;
    return { database, oldest_kept_backup: oldest.backup, first_kept_file: oldest.file, kept: mine.length - expired.length, expired };
  });
  return { databases: plans, warnings };
}

/** Binary log order: by series, then number. */
function cmpName(a: string, b: string): number {
  const x = series(a);
  const y = series(b);
  return x.base !== y.base ? (x.base < y.base ? -1 : 1) : x.seq - y.seq;
}
