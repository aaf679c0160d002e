import { decideBaseBackups, type BaseBackupDecision, type BaseBackupRetentionPolicy } from './base-backup-retention.js';

/**
 * Retention of the PostgreSQL point-in-time archive, as a pure function of (base backups, WAL
 * file names, policy, now): which base backups `prism backup cleanup` and `prism pg expire`
 * remove, and which archived WAL files no kept base backup needs any more.
 *
 * Base backups follow the rule of the full backups: the newest `count` are kept, and every one
 * younger than `age_days`. WAL: every file whose segment number (the last 16 hex digits of its
 * name, on any timeline) is at or after the start segment of the oldest kept base backup is
 * kept, and every timeline history file; the rest expires. Comparing segment numbers across
 * timelines is the rule `pg restore` uses to find a base backup's WAL; it keeps a segment of an
 * older timeline past a fork that recovery would not ask for, but never drops one it would.
 */
export type PitrRetentionPolicy = BaseBackupRetentionPolicy;

export interface PitrBaseBackup {
  id: string;
  finished_at: string;
  /** The WAL segment holding the backup's start location (24 hex digits). */
  start_wal: string;
}

export type PitrBaseDecision = BaseBackupDecision;

export interface PitrPlan {
  /** Newest first. */
  base_backups: PitrBaseDecision[];
  /** The oldest kept base backup, whose start segment is the first WAL segment kept; null when nothing expires. */
  oldest_kept: { id: string; start_wal: string } | null;
  /** WAL file names that expire, in name order. */
  expire_wal: string[];
  /** WAL files kept. */
  keep_wal: number;
  warnings: string[];
}

const SEGMENT = /^[0-9A-F]{24}$/;
/** Segments, partial segments and backup history files: named after a segment. */
const SEGMENT_NAMED = /^[0-9A-F]{24}(?:\.partial|\.[0-9A-F]{8}\.backup)?$/;

export function planPitrExpiry(bases: readonly PitrBaseBackup[], walNames: readonly string[], policy: PitrRetentionPolicy, now: Date): PitrPlan {
  const newestFirst = [...bases].sort((a, b) => Date.parse(b.finished_at) - Date.parse(a.finished_at) || (a.id < b.id ? 1 : -1));
  const decisions = decideBaseBackups(newestFirst, policy, now);
  const warnings: string[] = [];
  const keepAllWal = (why: string): PitrPlan => {
    warnings.push(why);
    return { base_backups: decisions, oldest_kept: null, expire_wal: [], keep_wal: walNames.length, warnings };
  };

  if (newestFirst.length === 0) {
    return walNames.length === 0
      ? { base_backups: [], oldest_kept: null, expire_wal: [], keep_wal: 0, warnings }
      : keepAllWal('The repository holds no base backup, so no WAL file is known to be unneeded: the WAL archive is not expired. Run `prism pg basebackup`.');
  }
  const kept = newestFirst.filter((_, i) => decisions[i]!.keep);
  const malformed = kept.find((b) => !SEGMENT.test(b.start_wal));
  if (malformed) {
    // a record we cannot place in the WAL stream: expire no base backup and no WAL rather than guess
    for (const d of decisions)
      if (!d.keep) Object.assign(d, { keep: true, reasons: [`kept: base backup ${malformed.id} has no valid start segment`, ...d.reasons] });
    return keepAllWal(
      `Base backup ${malformed.id} names "${malformed.start_wal}" as its start WAL segment, which is not a segment name: nothing in the PITR archive is expired.`,
    );
  }
  const oldest = kept.reduce((a, b) => (b.start_wal.slice(8) < a.start_wal.slice(8) ? b : a));
  const first = oldest.start_wal.slice(8);
  const expire = walNames.filter((n) => SEGMENT_NAMED.test(n) && n.slice(8, 24) < first).sort();
  return {
    base_backups: decisions,
    oldest_kept: { id: oldest.id, start_wal: oldest.start_wal },
    expire_wal: expire,
    keep_wal: walNames.length - expire.length,
    warnings,
  };
}
