import { chownSync, existsSync, lstatSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { prepareEmptyDir, runTool } from '../db/run-tool.js';

/** The data directory of a cluster to be recovered: new, or an existing empty directory (mode 0700). */
export function prepareDataDir(dir: string): void {
  prepareEmptyDir(dir, 0o700, 'a point-in-time restore writes a whole cluster and needs an empty or new directory');
}

/** Unpacks a base backup tar into `dir` with the system tar (owners kept when run as root). */
export function extractBaseBackup(dir: string, data: AsyncIterable<Buffer>): Promise<void> {
  return runTool('tar', ['-x', '-f', '-', '-C', dir], {
    code: 'PG_ARCHIVE_FAILED',
    what: `Unpacking the base backup into ${dir}`,
    missing: 'tar is not installed: install the tar package.',
    input: data,
  });
}

/** Where recovery stops: a time, a WAL location, a transaction's commit, a restore point, the first consistent moment; none: the end of the archive. */
export type RecoveryTarget =
  | { kind: 'time'; time: Date }
  | { kind: 'lsn'; lsn: string }
  | { kind: 'xid'; xid: string }
  | { kind: 'name'; name: string }
  | { kind: 'immediate' }
  | { kind: 'end' };

export interface RecoverySettings {
  restoreCommand: string;
  /** recovery_end_command (run once recovery has ended), if any. */
  recoveryEndCommand?: string;
  comment: string;
  target: RecoveryTarget;
  /** recovery_target_timeline: a number, 'latest' or 'current'. */
  timeline: number | 'latest' | 'current';
  /** recovery_target_action once the target is reached. */
  action: 'pause' | 'promote' | 'shutdown';
  /** recovery_target_inclusive = off: stop just before the target. */
  exclusive: boolean;
  /** 'off': archive_mode = off (the recovered cluster archives nowhere); 'preserve': the original's archive settings. */
  archiveMode: 'off' | 'preserve';
  /** A standby: standby.signal and primary_conninfo instead of recovery.signal and a target. */
  primaryConninfo?: string;
}

/** recovery.signal (standby.signal) plus restore_command, the recovery target and the timeline in postgresql.auto.conf. */
export function writeRecoverySettings(dir: string, s: RecoverySettings): void {
  const q = (v: string) => `'${v.replace(/'/g, "''")}'`;
  const lines = [`# ${s.comment.replace(/\n/g, ' ')}`, `restore_command = ${q(s.restoreCommand)}`];
  if (s.recoveryEndCommand !== undefined) lines.push(`recovery_end_command = ${q(s.recoveryEndCommand)}`);
  const t = s.target;
  if (t.kind === 'time') lines.push(`recovery_target_time = ${q(pgTimestamp(t.time))}`);
  else if (t.kind === 'lsn') lines.push(`recovery_target_lsn = ${q(t.lsn)}`);
  else if (t.kind === 'xid') lines.push(`recovery_target_xid = ${q(t.xid)}`);
  else if (t.kind === 'name') lines.push(`recovery_target_name = ${q(t.name)}`);
  else if (t.kind === 'immediate') lines.push(`recovery_target = 'immediate'`);
  if (t.kind !== 'end') {
    if (s.exclusive && t.kind !== 'immediate' && t.kind !== 'name') lines.push(`recovery_target_inclusive = off`);
    lines.push(`recovery_target_action = ${q(s.action)}`);
  }
  lines.push(`recovery_target_timeline = ${q(String(s.timeline))}`);
  if (s.primaryConninfo !== undefined) lines.push(`primary_conninfo = ${q(s.primaryConninfo)}`);
  if (s.archiveMode === 'off') lines.push(`archive_mode = off`);
  const conf = join(dir, 'postgresql.auto.conf');
  // a base backup of a restored cluster carries that restore's settings: two recovery targets stop PostgreSQL
  const before = existsSync(conf) ? readFileSync(conf, 'utf8') : '';
  const kept = before.replace(/^[ \t]*(restore_command|recovery_end_command|recovery_target\w*)[ \t]*=.*$/gm, '# $& (replaced by prism pg restore below)');
  writeFileSync(conf, `${kept}${kept === '' || kept.endsWith('\n') ? '' : '\n'}\n${lines.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(join(dir, s.primaryConninfo !== undefined ? 'standby.signal' : 'recovery.signal'), '', { mode: 0o600 });
}

/** A libpq keyword/value connection string (values quoted), e.g. for primary_conninfo. */
export function conninfo(fields: Record<string, string | number | undefined>): string {
  return Object.entries(fields)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}='${String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`)
    .join(' ');
}

/** "2026-12-01 18:30:00.123+00": a timestamptz PostgreSQL reads the same in any time zone. */
export function pgTimestamp(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '+00');
}

/** As root: gives the directory and prism's files the owner of the cluster's files (PG_VERSION). */
export function matchDataDirOwner(dir: string): void {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = lstatSync(join(dir, 'PG_VERSION'));
  for (const p of [dir, join(dir, 'postgresql.auto.conf'), join(dir, 'recovery.signal'), join(dir, 'standby.signal')])
    if (existsSync(p)) chownSync(p, uid, gid);
}
