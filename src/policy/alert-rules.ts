import { copyLag, type LagBackup } from './copy-lag.js';
import { isFutureDated } from './future-dated.js';

/**
 * SOP §5.2 alert rules as a pure function of (records, config, now): which alert conditions
 * hold right now. Raising, repeating and resolving them (and delivery) is app/monitoring/alerts.ts.
 */
export type AlertSeverity = 'critical' | 'high' | 'medium';
export type AttemptStatus = 'running' | 'completed' | 'partial' | 'failed' | 'corrupted';

/** A backup attempt (a manifest, as far as the rules need it). */
export interface AlertBackup {
  id: string;
  type: string;
  status: AttemptStatus;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  error: { code: string; message: string } | null;
}

/** `verify.failed` / `verify.ok` events of logs/events.log. */
export interface VerifyEvent {
  time: string;
  event: string;
  backup?: string;
  /** A point-in-time archive checked by `backup verify --all`: `pg` (WAL, base backups) or `mysql` (binary logs). */
  archive?: string;
  message?: string;
  /** The copy checked (`verify --repo NAME`); absent for the primary. */
  repository?: string;
}

/** A restore drill result (logs/drills.log). */
export interface AlertDrill {
  time: string;
  backup_id: string | null;
  status: 'passed' | 'failed';
  rto_seconds: number;
  target_seconds: number;
  error?: { code: string; message: string } | undefined;
  /** The copy drilled (`prism drill --repo NAME`); absent for the primary. */
  repository?: string | undefined;
}

/** A copy of the repository (backup.copies), as far as the local records tell: no store is reached for it. */
export interface AlertCopy {
  name: string;
  /**
   * How often the copy is due to catch up: its schedule's longest gap between two runs, or with
   * after_backup the primary's (the longest gap between two backup runs), the shorter if both;
   * null when neither is known (no lag alert then).
   */
  intervalMs: number | null;
  /** The primary's completed backups the copy is to hold (its own retention applied), with their end times. */
  wanted: readonly LagBackup[];
  /** The copy's newest backup as its last successful run left it. */
  latest: LagBackup | null;
  /** The last copy run (state/copy-NAME.json). */
  lastRun: { at: string; status: 'ok' | 'failed'; error: { code: string; message: string } | null } | null;
  /** `verify.failed` / `verify.ok` events of checks of the copy (`backup verify --repo NAME`). */
  verifyEvents: readonly VerifyEvent[];
}

export interface AlertRecords {
  /** Every recorded attempt, in any order. */
  backups: readonly AlertBackup[];
  verifyEvents: readonly VerifyEvent[];
  /** Manifest files that cannot be read (found while listing). */
  damagedManifests: readonly string[];
  drills: readonly AlertDrill[];
  /** The repository disk's used percentage; null when unknown. */
  storageUsedPercent: number | null;
  /** Why the repository could not be opened (an encrypted one with a wrong or missing password), when it could not. */
  repositoryAccess?: { code: string; message: string } | null | undefined;
  /** The copies of backup.copies. */
  copies?: readonly AlertCopy[] | undefined;
}

export interface AlertRuleConfig {
  consecutiveFailures: number;
  noSuccessHours: number;
  storage: { critical: number; high: number; medium: number };
  /** A backup is slow when it takes more than `slowFactor` × the median of earlier ones. */
  slowFactor: number;
  /** Earlier completed backups of the type needed before "usual time" means anything. */
  slowMinSample: number;
  /** At most this many of the newest earlier backups make the median. */
  slowMaxSample: number;
  /** The SOP fix for an error code of a failed attempt, where known. */
  fixForCode?: (code: string) => string | undefined;
  /** A copy is behind when a backup it lacks has waited more than this many of its intervals. */
  copyBehindIntervals: number;
}

/** The SOP §5.2 thresholds. */
export const SOP_ALERT_RULES: AlertRuleConfig = {
  consecutiveFailures: 3,
  noSuccessHours: 48,
  storage: { critical: 95, high: 90, medium: 80 },
  slowFactor: 2,
  slowMinSample: 3,
  slowMaxSample: 20,
  copyBehindIntervals: 2,
};

/** A condition that holds now. `key` is stable while it is the same problem. */
export interface AlertCondition {
  key: string;
  severity: AlertSeverity;
  rule: string;
  message: string;
  fix: string;
  details: Record<string, unknown>;
}

const HOUR = 3_600_000;
const FAILED = new Set<AttemptStatus>(['failed', 'partial']);

const byStart = (a: AlertBackup, b: AlertBackup) => Date.parse(a.started_at) - Date.parse(b.started_at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const endTime = (b: AlertBackup) => Date.parse(b.finished_at ?? b.started_at);

export function alertConditions(records: AlertRecords, config: AlertRuleConfig, now: Date): AlertCondition[] {
  const attempts = [...records.backups].sort(byStart);
  // a backup dated in the future is no recent success (nor the newest attempt): it would silence the rules below
  const future = attempts.filter((b) => isFutureDated(b, now));
  const dated = attempts.filter((b) => !future.includes(b));
  return [
    ...failureRules(
      dated.filter((b) => b.status !== 'running'),
      config,
      now,
    ),
    ...storageRule(records.storageUsedPercent, config),
    ...verifyRules(attempts, records, config),
    ...slowRules(dated, config, now),
    ...futureRule(future),
    ...drillRules(records.drills),
    ...accessRule(records.repositoryAccess, config),
    ...(records.copies ?? []).flatMap((c) => copyRules(c, config, now)),
  ];
}

/** Backups dated in the future (policy/future-dated.ts): a wrong clock, or manifests written into the repository by someone else. */
function futureRule(future: AlertBackup[]): AlertCondition[] {
  if (future.length === 0) return [];
  const ids = future.map((b) => b.id);
  return [
    {
      key: 'future_backups',
      severity: 'high',
      rule: 'future_backups',
      message: `${ids.length} backup(s) dated in the future: ${ids.join(', ')}. No genuine backup starts after now: a host's clock is wrong, or someone who can write into the repository added them (cleanup neither counts nor removes them).`,
      fix: 'Inspect each with `prism backup info <id>`; if it is not genuine, delete it with `prism backup delete <id> --confirm` and find out who could write into the repository; if a clock is wrong, correct it.',
      details: { ids, started_at: future.map((b) => b.started_at) },
    },
  ];
}

/** An encrypted repository the password does not open: no backup is made or checked, and no attempt can be recorded in it. */
function accessRule(access: AlertRecords['repositoryAccess'], config: AlertRuleConfig): AlertCondition[] {
  if (!access) return [];
  return [
    {
      key: 'repository_key',
      severity: 'critical',
      rule: 'repository_key',
      message: `The repository cannot be opened [${access.code}]: ${access.message} No backup can run or be checked until it can.`,
      fix:
        config.fixForCode?.(access.code) ??
        "Give the repository's password (PRISM_PASSWORD_FILE, PRISM_PASSWORD_COMMAND or the systemd credential prism-password).",
      details: { code: access.code },
    },
  ];
}

function failureRules(finished: AlertBackup[], config: AlertRuleConfig, now: Date): AlertCondition[] {
  const out: AlertCondition[] = [];
  const newestFirst = [...finished].reverse();
  let streak = 0;
  while (streak < newestFirst.length && FAILED.has(newestFirst[streak]!.status)) streak++;
  if (streak >= config.consecutiveFailures) {
    const codes = [...new Set(newestFirst.slice(0, streak).map((b) => b.error?.code ?? 'unknown'))];
    out.push({
      key: 'consecutive_failures',
      severity: 'critical',
      rule: 'consecutive_failures',
      message: `The last ${streak} backup attempts failed (${codes.join(', ')}); the newest: ${newestFirst[0]!.id}.`,
      fix: 'Run `prism backup failures --days 7` for each error and its fix, correct the cause, then `prism backup create --type full`.',
      details: { failures: streak, ids: newestFirst.slice(0, streak).map((b) => b.id), codes },
    });
  }
  const lastSuccess = newestFirst.filter((b) => b.status === 'completed').sort((a, b) => endTime(b) - endTime(a))[0];
  const sinceMs = lastSuccess ? now.getTime() - endTime(lastSuccess) : Infinity;
  if (sinceMs > config.noSuccessHours * HOUR) {
    out.push({
      key: 'no_recent_success',
      severity: 'critical',
      rule: 'no_success_48h',
      message: lastSuccess
        ? `No successful backup for ${(sinceMs / HOUR).toFixed(1)} hours (more than ${config.noSuccessHours}); the last one: ${lastSuccess.id} at ${lastSuccess.finished_at ?? lastSuccess.started_at}.`
        : `No successful backup yet (none completed in the last ${config.noSuccessHours} hours).`,
      fix: 'Run `prism backup create --type full`; if it fails, `prism backup failures` names the cause. Check that the service (`prism start`) runs the schedule.',
      details: { last_success: lastSuccess?.id ?? null, hours_since: lastSuccess ? sinceMs / HOUR : null },
    });
  }
  const newest = newestFirst[0];
  if (newest && FAILED.has(newest.status)) {
    const code = newest.error?.code ?? 'unknown';
    out.push({
      key: `backup_failed:${newest.id}`,
      severity: 'high',
      rule: 'backup_failed',
      message: `Backup ${newest.id} ${newest.status === 'partial' ? 'ended partial' : 'failed'} [${code}]: ${newest.error?.message ?? 'no message recorded'}`,
      fix: config.fixForCode?.(code) ?? 'See `prism backup failures` and logs/backup.log, correct the cause and back up again.',
      details: { backup: newest.id, status: newest.status, code },
    });
  }
  return out;
}

function storageRule(used: number | null, config: AlertRuleConfig): AlertCondition[] {
  if (used === null) return [];
  const s = config.storage;
  const level: [AlertSeverity, number] | undefined =
    used > s.critical ? ['critical', s.critical] : used > s.high ? ['high', s.high] : used > s.medium ? ['medium', s.medium] : undefined;
  if (!level) return [];
  return [
    {
      key: 'storage',
      severity: level[0],
      rule: `storage_over_${level[1]}`,
      message: `The backup disk is ${used.toFixed(1)}% used (over ${level[1]}%).`,
      fix: 'Free space: `prism backup cleanup` removes expired backups, `prism backup prune` unused data; or move the repository (PRISM_BACKUP_PATH) to a larger disk.',
      details: { used_percent: used, threshold: level[1] },
    },
  ];
}

const ARCHIVE_NAMES: Record<string, string> = { pg: 'The PostgreSQL point-in-time archive (WAL, base backups)', mysql: 'The MySQL/MariaDB binary log archive' };
const ARCHIVE_FIXES: Record<string, string> = {
  pg: 'Take a new base backup (`prism pg basebackup`) so later restores start after the damage, then run `prism backup verify --all` (it names the damaged records).',
  mysql:
    'Take a new backup (`prism backup create`) so later replays start after the damage, then run `prism backup verify --all` (it names the damaged records).',
};

function verifyRules(attempts: AlertBackup[], records: AlertRecords, config: AlertRuleConfig): AlertCondition[] {
  const fix = config.fixForCode?.('ERR_BACKUP_005') ?? 'Run `prism backup verify --all`, then back up again.';
  const out = new Map<string, AlertCondition>();
  const add = (id: string, message: string, details: Record<string, unknown>) =>
    out.has(id) || out.set(id, { key: `verify_failed:${id}`, severity: 'high', rule: 'verify_failed', message, fix, details });
  for (const b of attempts)
    if (b.status === 'corrupted') add(b.id, `Backup ${b.id} failed verification: ${b.error?.message ?? 'its data is damaged'}`, { backup: b.id });
  for (const name of records.damagedManifests)
    add(name, `The manifest ${name} cannot be read: that backup can be neither verified nor restored.`, { manifest: name });
  // a verify.failed event stands until a later successful verify of that backup (or the backup is gone)
  const exists = new Set(attempts.map((b) => b.id));
  const latest = new Map<string, VerifyEvent>();
  for (const e of [...records.verifyEvents].sort((a, b) => Date.parse(a.time) - Date.parse(b.time))) if (e.backup) latest.set(e.backup, e);
  for (const [id, e] of latest) {
    if (e.event === 'verify.failed' && exists.has(id))
      add(id, `Backup ${id} failed verification at ${e.time}: ${e.message ?? 'damaged data'}`, { backup: id, time: e.time });
  }
  // an archive's alert stands until a later `verify --all` finds it whole
  const archives = new Map<string, VerifyEvent>();
  for (const e of [...records.verifyEvents].sort((a, b) => Date.parse(a.time) - Date.parse(b.time))) if (e.archive) archives.set(e.archive, e);
  for (const [archive, e] of archives) {
    if (e.event !== 'verify.failed') continue;
    const what = ARCHIVE_NAMES[archive] ?? `The ${archive} archive`;
    out.set(`archive:${archive}`, {
      key: `verify_failed:archive:${archive}`,
      severity: 'high',
      rule: 'verify_failed',
      message: `${what} failed verification at ${e.time}: ${e.message ?? 'damaged data'}. Point-in-time restores that need the damaged files cannot reach past them.`,
      fix: ARCHIVE_FIXES[archive] ?? fix,
      details: { archive, time: e.time },
    });
  }
  return [...out.values()];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The newest completed and any running backup of each type, against the median of earlier completed ones. */
function slowRules(attempts: AlertBackup[], config: AlertRuleConfig, now: Date): AlertCondition[] {
  const out: AlertCondition[] = [];
  for (const type of new Set(attempts.map((b) => b.type))) {
    const ofType = attempts.filter((b) => b.type === type);
    const completed = ofType.filter((b) => b.status === 'completed' && b.duration_ms !== null);
    const candidates = [completed[completed.length - 1], ...ofType.filter((b) => b.status === 'running')];
    for (const b of candidates) {
      if (!b) continue;
      const earlier = completed.filter((c) => byStart(c, b) < 0).slice(-config.slowMaxSample);
      if (earlier.length < config.slowMinSample) continue;
      const usual = median(earlier.map((c) => c.duration_ms!));
      const took = b.status === 'running' ? now.getTime() - Date.parse(b.started_at) : b.duration_ms!;
      if (usual <= 0 || took <= config.slowFactor * usual) continue;
      out.push({
        key: `slow_backup:${b.id}`,
        severity: 'medium',
        rule: 'slow_backup',
        message: `${b.status === 'running' ? `${type} backup ${b.id} has been running for` : `${type} backup ${b.id} took`} ${(took / 1000).toFixed(1)} s, more than ${config.slowFactor}× its usual ${(usual / 1000).toFixed(1)} s (median of ${earlier.length}).`,
        fix: 'Check the disk and the source: much more changed data, a slow or nearly full disk, or other load. `prism backup info <id>` shows what it read.',
        details: { backup: b.id, type, duration_ms: took, usual_ms: usual, sample: earlier.length, running: b.status === 'running' },
      });
    }
  }
  return out;
}

/** The latest drill of the primary, and of each copy drilled (`drill --repo`), each on its own: a copy's failure is not hidden by a later drill of the primary. */
function drillRules(drills: readonly AlertDrill[]): AlertCondition[] {
  const latest = new Map<string, AlertDrill>();
  for (const d of [...drills].sort((a, b) => Date.parse(a.time) - Date.parse(b.time))) latest.set(d.repository ?? '', d);
  return [...latest.values()].flatMap(drillRule);
}

function drillRule(last: AlertDrill): AlertCondition[] {
  const what = `${last.backup_id ? ` of ${last.backup_id}` : ''}${last.repository !== undefined ? ` from the copy ${last.repository}` : ''}`;
  const suffix = last.repository !== undefined ? `:${last.repository}` : '';
  const repo = last.repository !== undefined ? ` --repo ${last.repository}` : '';
  const where = last.repository !== undefined ? { repository: last.repository } : {};
  if (last.status === 'failed') {
    return [
      {
        key: `drill_failed${suffix}`,
        severity: 'high',
        rule: 'drill_failed',
        message: `The restore drill${what} at ${last.time} failed${last.error ? ` [${last.error.code}]: ${last.error.message}` : ''}.`,
        fix: `Run \`prism backup verify --all${repo}\`, then \`prism drill${repo}\` again; \`prism drill --history\` shows past drills.`,
        details: { time: last.time, backup: last.backup_id, code: last.error?.code ?? null, ...where },
      },
    ];
  }
  if (last.rto_seconds > last.target_seconds) {
    return [
      {
        key: `drill_over_rto${suffix}`,
        severity: 'medium',
        rule: 'drill_over_rto',
        message: `The restore drill${what} at ${last.time} took ${last.rto_seconds.toFixed(1)} s, over its RTO target of ${last.target_seconds} s.`,
        fix: 'Find what makes the restore slow (data size, disk, concurrency), or set a realistic drill.rto_target_seconds.',
        details: { time: last.time, backup: last.backup_id, rto_seconds: last.rto_seconds, target_seconds: last.target_seconds, ...where },
      },
    ];
  }
  return [];
}

/**
 * A copy (high): behind the primary — a backup it is to hold, newer than its newest, has waited
 * more than `copyBehindIntervals` of the copy's intervals since it ended; its last run failed; or
 * a check of it (`backup verify --repo NAME`) found damage that no later check cleared.
 */
function copyRules(copy: AlertCopy, config: AlertRuleConfig, now: Date): AlertCondition[] {
  const out: AlertCondition[] = [];
  const name = copy.name;
  const lag = copyLag(copy.wanted, copy.latest);
  const waited = lag.oldest_missing ? now.getTime() - Date.parse(lag.oldest_missing.at) : 0;
  if (copy.intervalMs !== null && copy.intervalMs > 0 && lag.oldest_missing && waited > config.copyBehindIntervals * copy.intervalMs) {
    const hours = (ms: number) => (ms / HOUR).toFixed(1);
    out.push({
      key: `copy_behind:${name}`,
      severity: 'high',
      rule: 'copy_behind',
      message: `The copy ${name} is ${lag.backups} backup(s) behind the primary: ${lag.oldest_missing.id} has waited ${hours(waited)} h for it, more than ${config.copyBehindIntervals} × its interval of ${hours(copy.intervalMs)} h; its newest backup: ${copy.latest ? `${copy.latest.id} (${copy.latest.at})` : 'none'}.`,
      fix: `See \`prism tasks --job copy:${name}\` and \`prism backup health\` for why it does not catch up; once its store is reachable, \`prism backup copy --all --to ${name}\` (the service copies it at its next run).`,
      details: {
        copy: name,
        behind_backups: lag.backups,
        oldest_missing: lag.oldest_missing.id,
        waited_hours: waited / HOUR,
        interval_hours: copy.intervalMs / HOUR,
        latest: copy.latest?.id ?? null,
      },
    });
  }
  const run = copy.lastRun;
  if (run?.status === 'failed') {
    const code = run.error?.code ?? 'unknown';
    out.push({
      key: `copy_failed:${name}`,
      severity: 'high',
      rule: 'copy_failed',
      message: `The last copy to ${name} at ${run.at} failed [${code}]: ${run.error?.message ?? 'no message recorded'}`,
      fix:
        config.fixForCode?.(code) ??
        `See \`prism tasks --job copy:${name}\`; correct the cause, then \`prism backup copy --all --to ${name}\` (or wait for the next run).`,
      details: { copy: name, time: run.at, code },
    });
  }
  const damaged = copyVerifyFailures(copy);
  if (damaged.length > 0) {
    const first = damaged[0]!;
    out.push({
      key: `copy_verify_failed:${name}`,
      severity: 'high',
      rule: 'copy_verify_failed',
      message: `The copy ${name} failed verification at ${first.time}${first.backup ? ` (${first.backup})` : first.archive ? ` (${first.archive} archive)` : ''}: ${first.message ?? 'damaged data'}${damaged.length > 1 ? `; ${damaged.length - 1} more` : ''}.`,
      fix: `Run \`prism backup verify --all --repo ${name}\`: it names the damaged backups and files (the primary is not affected). A copy whose store damages data belongs elsewhere: point it at a new location and copy again.`,
      details: { copy: name, damaged: damaged.map((e) => e.backup ?? `archive:${e.archive}`) },
    });
  }
  return out;
}

/** A `verify.failed` of a backup (or archive) of the copy stands until a later `verify.ok` of it there, or until the copy no longer holds that backup. */
function copyVerifyFailures(copy: AlertCopy): VerifyEvent[] {
  const latest = new Map<string, VerifyEvent>();
  for (const e of [...copy.verifyEvents].sort((a, b) => Date.parse(a.time) - Date.parse(b.time))) {
    const subject = e.backup ?? (e.archive ? `archive:${e.archive}` : undefined);
    if (subject) latest.set(subject, e);
  }
  const held = new Set(copy.wanted.map((b) => b.id));
  return [...latest.values()].filter((e) => e.event === 'verify.failed' && (e.backup === undefined || held.has(e.backup)));
}
