import { closeSync, existsSync, futimesSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { mkdirPrivate, openPrivate, replacePrivateFile } from '../../core/private-files.js';
import type { AlertCondition } from '../../policy/alert-rules.js';
import type { Acknowledgement } from '../../policy/alert-routing.js';

/** A receiver by its name: `webhook`, `command`, or a name of backup.alerts.receivers. */
export type AlertTarget = string;
/** What a delivery tells: a new (or changed-severity) alert, a reminder, or that it cleared. */
export type NotificationKind = 'raised' | 'repeat' | 'resolved';

/** An alert as $PRISM_HOME/state/alerts.json keeps it. */
export interface Alert extends AlertCondition {
  state: 'active' | 'resolved';
  raised_at: string;
  /** The last evaluation that found the condition true. */
  last_seen_at: string;
  resolved_at: string | null;
  /** The last notification delivered (or logged, when no webhook or command is configured). */
  notified_at: string | null;
  notifications: number;
  /** A notification not yet delivered to every target; retried at each evaluation. */
  pending: PendingNotification | null;
  /** When the current escalation started (raised, or severity changed); absent in older state files: raised_at. */
  escalation_since?: string;
  /** Receivers told of the current escalation. */
  episode_told?: string[];
  /** Every receiver told since the alert was raised: they hear of its resolution. */
  told?: string[];
  /** `prism alerts ack KEY`: no further escalation steps; shown in reminders. */
  acknowledged?: Acknowledgement | null;
}

export interface PendingNotification {
  kind: NotificationKind;
  since: string;
  targets: AlertTarget[];
  attempts: number;
  last_attempt_at: string | null;
  last_error: string | null;
}

export interface AlertsFile {
  version: 1;
  updated_at: string | null;
  active: Alert[];
  /** Newest first, at most RESOLVED_KEPT. */
  resolved: Alert[];
}

export const RESOLVED_KEPT = 50;
/** A lock older than this is taken over even if its process seems alive (pid reused). */
const STALE_LOCK_MS = 30 * 60_000;

export function alertsStateDir(home: string): string {
  return join(home, 'state');
}

export function alertsFile(home: string): string {
  return join(alertsStateDir(home), 'alerts.json');
}

export function emptyAlertsFile(): AlertsFile {
  return { version: 1, updated_at: null, active: [], resolved: [] };
}

/** Reads the state; a missing file is empty, a damaged one is reported through `onDamaged` and read as empty. */
export function readAlertsFile(home: string, onDamaged: (message: string) => void = () => {}): AlertsFile {
  let raw: string;
  try {
    raw = readFileSync(alertsFile(home), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyAlertsFile();
    onDamaged((e as Error).message);
    return emptyAlertsFile();
  }
  try {
    const v = JSON.parse(raw) as AlertsFile;
    if (v?.version !== 1 || !Array.isArray(v.active) || !Array.isArray(v.resolved)) throw new Error('not an alerts state file (version 1)');
    return v;
  } catch (e) {
    onDamaged((e as Error).message);
    return emptyAlertsFile();
  }
}

/** Writes the state atomically: a temporary file, fsync, rename. A reader sees the old file or the new one. */
export function writeAlertsFile(home: string, state: AlertsFile): void {
  mkdirPrivate(alertsStateDir(home));
  const target = alertsFile(home);
  replacePrivateFile(target, JSON.stringify(state, null, 2) + '\n', `${target}.${process.pid}.tmp`);
}

/** Keeps a copy of a damaged state file next to it (alerts.json.damaged) before it is replaced. */
export function setAsideDamaged(home: string): void {
  if (existsSync(alertsFile(home))) renameSync(alertsFile(home), `${alertsFile(home)}.damaged`);
}

/**
 * One evaluator at a time: state/alerts.lock, created exclusively with the holder's pid. A lock
 * of a dead process (or an old one) is taken over. Returns the release function, or undefined
 * when another live process holds it.
 */
export function tryLockAlerts(home: string, clock: Clock): (() => void) | undefined {
  mkdirPrivate(alertsStateDir(home));
  const lock = join(alertsStateDir(home), 'alerts.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openPrivate(lock, 'wx');
      try {
        writeSync(fd, String(process.pid));
        // its age is read against the clock: stamp it with the clock's time
        const now = clock.now();
        futimesSync(fd, now, now);
      } finally {
        closeSync(fd);
      }
      return () => {
        try {
          unlinkSync(lock);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (!staleLock(lock, clock)) return undefined;
      try {
        unlinkSync(lock);
      } catch {
        // another process took it over first
      }
    }
  }
  return undefined;
}

function staleLock(lock: string, clock: Clock): boolean {
  try {
    const pid = Number.parseInt(readFileSync(lock, 'utf8'), 10);
    const age = clock.now().getTime() - statSync(lock).mtimeMs;
    if (age > STALE_LOCK_MS) return true;
    if (!Number.isInteger(pid) || pid <= 0) return age > 5_000; // just created, its pid not written yet
    process.kill(pid, 0);
    return false;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ESRCH' || code === 'ENOENT';
  }
}

/** The active alerts as last saved (no evaluation); for metrics and status. */
export function activeAlerts(home: string): Alert[] {
  return readAlertsFile(home).active;
}

/** Every alert saved: active, and recently resolved (newest first). */
export function savedAlerts(home: string): AlertsFile {
  return readAlertsFile(home);
}
