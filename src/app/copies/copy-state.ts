import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mkdirPrivate, replacePrivateFile } from '../../core/private-files.js';
import { alertsStateDir } from '../monitoring/alert-state.js';

/**
 * $PRISM_HOME/state/copy-<name>.json: how the last run of a copy (backup.copies) went, kept on the
 * local disk so that health, alerts and metrics can tell without reaching the copy's store.
 */
export interface CopyRunState {
  copy: string;
  repository: string;
  /** The last run, whatever its outcome. */
  last_attempt_at: string;
  last_status: 'ok' | 'failed';
  /** Why the last run failed (null when it did not). */
  last_error: { code: string; message: string } | null;
  last_success_at: string | null;
  /** The copy's newest backup after the last successful run: what the lag is measured from. */
  latest: { id: string; at: string } | null;
  /** Backups and bytes the last successful run copied. */
  last_copied: number;
  last_bytes: number;
  /** Bytes copied by every run recorded here (a counter: it only grows). */
  bytes_total: number;
}

export function copyStateFile(home: string, name: string): string {
  return join(alertsStateDir(home), `copy-${name}.json`);
}

/** The state of the copy `name`; undefined before its first recorded run (or when the file cannot be read). */
export function readCopyState(home: string, name: string): CopyRunState | undefined {
  try {
    const v = JSON.parse(readFileSync(copyStateFile(home, name), 'utf8')) as CopyRunState;
    return v?.copy === name && typeof v.last_attempt_at === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

export type CopyRunOutcome =
  | { ok: true; at: string; latest: { id: string; at: string } | null; copied: number; bytes: number }
  | { ok: false; at: string; error: { code: string; message: string } };

/** Records a run (written whole: a temporary file, fsync, rename); nothing is written while PRISM_HOME does not exist. */
export function recordCopyRun(home: string, copy: { name: string; location: string }, run: CopyRunOutcome): CopyRunState | undefined {
  if (!existsSync(home)) return undefined;
  const read = readCopyState(home, copy.name);
  // a copy moved elsewhere starts afresh
  const before = read?.repository === copy.location ? read : undefined;
  const state: CopyRunState = run.ok
    ? {
        copy: copy.name,
        repository: copy.location,
        last_attempt_at: run.at,
        last_status: 'ok',
        last_error: null,
        last_success_at: run.at,
        latest: newer(run.latest, before?.latest ?? null),
        last_copied: run.copied,
        last_bytes: run.bytes,
        bytes_total: (before?.bytes_total ?? 0) + run.bytes,
      }
    : {
        copy: copy.name,
        repository: copy.location,
        last_attempt_at: run.at,
        last_status: 'failed',
        last_error: run.error,
        last_success_at: before?.last_success_at ?? null,
        latest: before?.latest ?? null,
        last_copied: before?.last_copied ?? 0,
        last_bytes: before?.last_bytes ?? 0,
        bytes_total: before?.bytes_total ?? 0,
      };
  mkdirPrivate(alertsStateDir(home));
  const file = copyStateFile(home, copy.name);
  replacePrivateFile(file, JSON.stringify(state, null, 2) + '\n', `${file}.${process.pid}.tmp`);
  return state;
}

function newer(a: CopyRunState['latest'], b: CopyRunState['latest']): CopyRunState['latest'] {
  if (!a || !b) return a ?? b;
  return Date.parse(a.at) >= Date.parse(b.at) ? a : b;
}
