/**
 * Retention of base backups (PostgreSQL `pg basebackup`, MariaDB `mysql basebackup`), as a pure
 * function of (base backups, policy, now), the rule of the full backups: the newest `count` are
 * kept, and every one younger than `age_days`. The newest is always kept (a count below 1 counts
 * as 1). What the kept ones need of the WAL or binary log archive is the caller's.
 */
export interface BaseBackupRetentionPolicy {
  /** The newest this many base backups are kept (at least 1). */
  base_backups_count: number;
  /** And every base backup that finished less than this many days ago. */
  base_backups_age_days: number;
}

export interface DatedBaseBackup {
  id: string;
  finished_at: string;
}

export interface BaseBackupDecision {
  id: string;
  keep: boolean;
  /** Every rule that applies, the deciding one first. */
  reasons: string[];
}

const DAY = 86_400_000;

/** Newest first (by finish time, then id), with the rule that keeps or removes each. */
export function decideBaseBackups(bases: readonly DatedBaseBackup[], policy: BaseBackupRetentionPolicy, now: Date): BaseBackupDecision[] {
  const t = now.getTime();
  const newestFirst = [...bases].sort((a, b) => Date.parse(b.finished_at) - Date.parse(a.finished_at) || (a.id < b.id ? 1 : -1));
  const count = Math.max(1, policy.base_backups_count);
  const days = policy.base_backups_age_days;
  return newestFirst.map((b, i): BaseBackupDecision => {
    const reasons: string[] = [];
    if (i < count) reasons.push(`one of the newest ${count} base backups`);
    if ((t - Date.parse(b.finished_at)) / DAY < days) reasons.push(`younger than ${days} days`);
    return reasons.length > 0
      ? { id: b.id, keep: true, reasons }
      : { id: b.id, keep: false, reasons: [`beyond the newest ${count} base backups and older than ${days} days`] };
  });
}

/**
 * The same rule applied to each group apart (`group` names it: a MariaDB server's base backups are
 * counted among that server's only, so a busy server never expires another's last one). Newest
 * first overall; a decision's reasons name its group when there is more than one.
 */
export function decideBaseBackupsByGroup<B extends DatedBaseBackup>(
  bases: readonly B[],
  group: (b: B) => string,
  policy: BaseBackupRetentionPolicy,
  now: Date,
): Array<BaseBackupDecision & { group: string }> {
  const groups = new Map<string, B[]>();
  for (const b of bases) groups.set(group(b), [...(groups.get(group(b)) ?? []), b]);
  const byId = new Map<string, BaseBackupDecision & { group: string }>();
  for (const [g, members] of groups) {
    for (const d of decideBaseBackups(members, policy, now)) {
      byId.set(d.id, { ...d, group: g, reasons: groups.size > 1 ? d.reasons.map((r) => `${r} of ${g}`) : d.reasons });
    }
  }
  return decideBaseBackups(bases, { base_backups_count: 1, base_backups_age_days: 0 }, now).map((d) => byId.get(d.id)!);
}
