/**
 * The retention policy (SOP 1.1, 4.1, 9.1) as a pure function of (backups, policy, now):
 * which backups `prism backup cleanup` removes, and which rule decided each one.
 */
export interface RetentionPolicy {
  full_backups_count: number;
  full_backups_age_days: number;
  incremental_backups_count: number;
  incremental_backups_age_days: number;
  max_total_backups: number;
  /** Failed attempts are kept this long (the window `prism backup failures` reports on). */
  failed_attempts_days: number;
}

export interface RetentionBackup {
  id: string;
  type: 'full' | 'incremental';
  status: 'running' | 'completed' | 'partial' | 'failed' | 'corrupted';
  trigger: 'manual' | 'scheduled';
  started_at: string;
}

export interface RetentionDecision {
  id: string;
  keep: boolean;
  /** Every rule that applies, the deciding one first. */
  reasons: string[];
}

const DAY = 86_400_000;

export function applyRetention(backups: readonly RetentionBackup[], policy: RetentionPolicy, now: Date): RetentionDecision[] {
  const t = now.getTime();
  const age = (b: RetentionBackup) => (t - Date.parse(b.started_at)) / DAY;
  const newestFirst = [...backups].sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at) || (a.id < b.id ? 1 : -1));
  const decisions = new Map<string, RetentionDecision>();
  const usable = (b: RetentionBackup) => b.status === 'completed' || b.status === 'partial' || b.status === 'corrupted';
  const newestFull = newestFirst.find((b) => b.type === 'full' && b.status === 'completed');

  for (const b of newestFirst) {
    if (b.status === 'running') decisions.set(b.id, { id: b.id, keep: true, reasons: ['running'] });
    else if (b.status === 'failed') {
      const old = age(b) > policy.failed_attempts_days;
      decisions.set(b.id, {
        id: b.id,
        keep: !old,
        reasons: [old ? `failed attempt older than ${policy.failed_attempts_days} days` : `failed attempt within ${policy.failed_attempts_days} days`],
      });
    }
  }
  for (const type of ['full', 'incremental'] as const) {
    const count = type === 'full' ? policy.full_backups_count : policy.incremental_backups_count;
    const days = type === 'full' ? policy.full_backups_age_days : policy.incremental_backups_age_days;
    newestFirst
      .filter((b) => b.type === type && usable(b))
      .forEach((b, i) => {
        const reasons: string[] = [];
        if (b.trigger === 'manual') reasons.push('manual backup (kept until deleted by hand)');
        if (newestFull && b.id === newestFull.id) reasons.push('newest completed full backup');
        if (i < count) reasons.push(`one of the newest ${count} ${type} backups`);
        if (age(b) < days) reasons.push(`younger than ${days} days`);
        decisions.set(
          b.id,
          reasons.length > 0
            ? { id: b.id, keep: true, reasons }
            : { id: b.id, keep: false, reasons: [`beyond the newest ${count} ${type} backups and older than ${days} days`] },
        );
      });
  }
  // max_total_backups: remove the oldest kept backups that no rule protects absolutely
  const kept = newestFirst.filter((b) => usable(b) && decisions.get(b.id)!.keep);
  let excess = kept.length - policy.max_total_backups;
  for (let i = kept.length - 1; i >= 0 && excess > 0; i--) {
    const d = decisions.get(kept[i]!.id)!;
    if (d.reasons.some((r) => r.startsWith('manual') || r.startsWith('newest completed full'))) continue;
    decisions.set(d.id, {
      id: d.id,
      keep: false,
      reasons: [`more than max_total_backups (${policy.max_total_backups}) backups`, ...d.reasons.map((r) => `(also ${r})`)],
    });
    excess--;
  }
  return newestFirst.map((b) => decisions.get(b.id) ?? { id: b.id, keep: true, reasons: ['no rule applies'] });
}

/**
 * Retention for a repository several hosts back up into: each host's backups are kept by the
 * policy on their own (every host keeps its newest full backup and its own counts), as restic
 * groups by host; one busy host never expires another's backups.
 */
export function applyRetentionByHost(backups: readonly (RetentionBackup & { host: string })[], policy: RetentionPolicy, now: Date): RetentionDecision[] {
  const byHost = new Map<string, RetentionBackup[]>();
  for (const b of backups) (byHost.get(b.host) ?? byHost.set(b.host, []).get(b.host)!).push(b);
  return [...byHost.values()].flatMap((group) => applyRetention(group, policy, now));
}
