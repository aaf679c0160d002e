import { isFutureDated } from './future-dated.js';

/**
 * The retention policy (SOP 1.1, 4.1, 9.1) as a pure function of (backups, policy, now):
 * which backups `prism backup cleanup` removes, and which rule decided each one.
 *
 * Whoever can write into the repository can add manifests, so the rules are built so that added
 * ones cannot get genuine backups removed: a backup dated in the future is neither counted nor
 * removed, and a backup younger than its age limit is kept whatever the counts and
 * max_total_backups say (fake recent backups can fill the count slots, not empty the age window).
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
  finished_at?: string | null | undefined;
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
  // dated in the future: set aside before any rule, so they take no count slot, no cap place and not the newest-full protection
  const dated: RetentionBackup[] = [];
  for (const b of newestFirst) {
    if (isFutureDated(b, now)) decisions.set(b.id, { id: b.id, keep: true, reasons: [futureReason(b)] });
    else dated.push(b);
  }
  const usable = (b: RetentionBackup) => b.status === 'completed' || b.status === 'partial' || b.status === 'corrupted';
  const newestFull = dated.find((b) => b.type === 'full' && b.status === 'completed');

  for (const b of dated) {
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
  const young = new Set<string>();
  for (const type of ['full', 'incremental'] as const) {
    const count = type === 'full' ? policy.full_backups_count : policy.incremental_backups_count;
    const days = type === 'full' ? policy.full_backups_age_days : policy.incremental_backups_age_days;
    dated
      .filter((b) => b.type === type && usable(b))
      .forEach((b, i) => {
        const reasons: string[] = [];
        if (b.trigger === 'manual') reasons.push('manual backup (kept until deleted by hand)');
        if (newestFull && b.id === newestFull.id) reasons.push('newest completed full backup');
        if (i < count) reasons.push(`one of the newest ${count} ${type} backups`);
        // age 0 switches the rule off (a backup within the clock skew allowance is not "younger than 0 days")
        if (days > 0 && age(b) < days) {
          reasons.push(`younger than ${days} days (kept whatever the counts and the total cap say)`);
          young.add(b.id);
        }
        decisions.set(
          b.id,
          reasons.length > 0
            ? { id: b.id, keep: true, reasons }
            : { id: b.id, keep: false, reasons: [`beyond the newest ${count} ${type} backups and older than ${days} days`] },
        );
      });
  }
  // max_total_backups: remove the oldest kept backups that only a count keeps (never a manual
  // one, the newest completed full, or one younger than its age limit: added recent manifests
  // must not be able to push a genuine backup of the age window out)
  const kept = dated.filter((b) => usable(b) && decisions.get(b.id)!.keep);
  let excess = kept.length - policy.max_total_backups;
  for (let i = kept.length - 1; i >= 0 && excess > 0; i--) {
    const b = kept[i]!;
    if (b.trigger === 'manual' || b.id === newestFull?.id || young.has(b.id)) continue;
    const d = decisions.get(b.id)!;
    decisions.set(d.id, {
      id: d.id,
      keep: false,
      reasons: [`more than max_total_backups (${policy.max_total_backups}) backups`, ...d.reasons.map((r) => `(also ${r})`)],
    });
    excess--;
  }
  return newestFirst.map((b) => decisions.get(b.id) ?? { id: b.id, keep: true, reasons: ['no rule applies'] });
}

function futureReason(b: RetentionBackup): string {
  const dates = `started ${b.started_at}${typeof b.finished_at === 'string' ? `, finished ${b.finished_at}` : ''}`;
  return `dated in the future (${dates}): not counted, not deleted`;
}

/** The backups retention sets aside as dated in the future (see future-dated.ts), newest first. */
export function futureDated<T extends RetentionBackup>(backups: readonly T[], now: Date): T[] {
  return backups.filter((b) => isFutureDated(b, now)).sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at) || (a.id < b.id ? 1 : -1));
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
