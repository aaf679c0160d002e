/**
 * How far a copy of the repository is behind the primary, as a pure function of the primary's
 * backups the copy is to hold and the copy's newest backup.
 */

/** A backup and when it ended (its start while it has no end). */
export interface LagBackup {
  id: string;
  at: string;
}

export interface CopyLag {
  /** The copy's newest backup (null: it holds none). */
  latest: LagBackup | null;
  /** The primary's newest backup the copy is to hold. */
  primary_latest: LagBackup | null;
  /** The primary's backups newer than the copy's newest, which the copy therefore lacks. */
  backups: number;
  /** How much older the copy's newest backup is than the primary's newest (0 when it has it); null while the copy holds none. */
  seconds: number | null;
  /** The oldest of the backups it lacks, which has waited longest; null when it lacks none. */
  oldest_missing: LagBackup | null;
}

const t = (b: LagBackup) => Date.parse(b.at);

/** `wanted`: the primary's completed backups the copy is to hold (its retention applied); `latest`: the copy's newest backup. */
export function copyLag(wanted: readonly LagBackup[], latest: LagBackup | null): CopyLag {
  const sorted = [...wanted].sort((a, b) => t(a) - t(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const missing = latest ? sorted.filter((b) => t(b) > t(latest) && b.id !== latest.id) : sorted;
  const newest = sorted.at(-1) ?? null;
  return {
    latest,
    primary_latest: newest,
    backups: missing.length,
    seconds: latest === null ? null : newest === null ? 0 : Math.max(0, (t(newest) - t(latest)) / 1000),
    oldest_missing: missing[0] ?? null,
  };
}
