import { resolve } from 'node:path';
import { PrismError } from '../../../errors/index.js';
import { resolveDbTarget, type DbTarget } from '../../../source/db/db-credentials.js';
import {
  conninfo,
  extractBaseBackup,
  matchDataDirOwner,
  pgTimestamp,
  prepareDataDir,
  writeRecoverySettings,
  type RecoveryTarget,
} from '../../../source/postgres/pg-basebackup-restore.js';
import { serverTimeline } from '../../../source/postgres/pg-basebackup-run.js';
import { parseLsn } from '../../../source/postgres/pg-wal-name.js';
import { lockRepository, openRepository, type AppContext } from '../../context.js';
import { asArchiveError } from './pg-archive-wal.js';
import { readStream } from '../blob-store.js';
import { readHistories } from './pg-archive-view.js';
import { listBaseRecords, listRestorePointRecords, listWalRecords, type BaseRecord, type RestorePointRecord } from './pg-records.js';
import {
  archiveTimelines,
  baseOnLineage,
  fullXid,
  latestTimeline,
  lineageOf,
  segmentOnLineage,
  segmentsOnLineage,
  timelineAt,
  timelineOfLsn,
  timelineOfXid,
  type Lineage,
} from './pg-timelines.js';

export type { RecoveryTarget };
export type TimelineChoiceFlag = number | 'latest' | 'current';

export interface PgRestoreOptions {
  /** Where recovery stops ({ kind: 'end' }: the end of the archive). */
  target: RecoveryTarget;
  dataDir: string;
  /** The command PostgreSQL runs to fetch WAL (prism's own path), without the `pg restore-wal %f %p` part. */
  prismCommand: string;
  /** The WAL launcher (prism-wal), when built: restore_command runs it instead of node (`restore-wal %f %p …`). */
  walCommand?: string | undefined;
  /** --target-timeline; undefined: the timeline live at the target time (or the restore point's, the one holding the LSN or transaction; else the newest). */
  timeline?: TimelineChoiceFlag | undefined;
  /** --base ID: this base backup rather than the latest one before the target. */
  base?: string | undefined;
  /** --target-action (default promote). */
  action?: 'pause' | 'promote' | 'shutdown' | undefined;
  /** --target-exclusive: stop just before the target. */
  exclusive?: boolean | undefined;
  /** --archive-mode (default off: the restored cluster does not archive into the production repository). */
  archiveMode?: 'off' | 'preserve' | undefined;
  /** --type standby: a streaming replica of this primary (URL), catching up from the archive as well. */
  standbyOf?: string | undefined;
  /** --prefetch N: segments restore-wal fetches ahead (default backup.pitr.restore_prefetch; 0: none). */
  prefetch?: number | undefined;
}

export interface PgRestoreReport {
  data_dir: string;
  type: 'recovery' | 'standby';
  base_backup: string;
  base_finished_at: string;
  base_timeline: number;
  /** What recovery stops at: `time`, `lsn`, `xid`, `name`, `immediate`, or `end` (the end of the archive). */
  target: { kind: RecoveryTarget['kind']; value: string | null; exclusive: boolean; action: 'pause' | 'promote' | 'shutdown' | null };
  /** The target time as PostgreSQL reads it (null for other targets). */
  target_time: string | null;
  /** The timeline recovery follows, and the recovery_target_timeline written (a number, latest or current). */
  timeline: number;
  recovery_target_timeline: string;
  timeline_reason: string;
  archive_mode: 'off' | 'preserve';
  /** The primary a standby follows (without its password). */
  primary: string | null;
  restore_command: string;
  /** Empties the spool of segments fetched ahead once recovery has ended (null when nothing is fetched ahead). */
  recovery_end_command: string | null;
  /** WAL files of the timelines recovery follows, from the base backup's start segment on. */
  wal_files: number;
  last_wal: string | null;
  last_archived_at: string | null;
  warnings: string[];
}

const LSN = /^[0-9A-Fa-f]{1,8}\/[0-9A-Fa-f]{1,8}$/;

/** Checks a target given on the command line (INVALID_ARGUMENT with what to give instead). */
export function checkTarget(t: RecoveryTarget): void {
  if (t.kind === 'lsn' && !LSN.test(t.lsn))
    throw new PrismError(
      'INVALID_ARGUMENT',
      `--target-lsn ${t.lsn} is not a WAL location: give it as PostgreSQL prints one (pg_current_wal_lsn(), pg_create_restore_point()), e.g. 0/3000148.`,
      { lsn: t.lsn },
    );
  if (t.kind === 'xid' && (!/^\d{1,20}$/.test(t.xid) || BigInt(t.xid) < 3n || BigInt(t.xid) >= 1n << 64n))
    throw new PrismError('INVALID_ARGUMENT', `--target-xid ${t.xid} is not a transaction id: give the number txid_current() printed in that transaction.`, {
      xid: t.xid,
    });
  if (t.kind === 'name') checkRestorePointName(t.name, '--target-name');
}

export function checkRestorePointName(name: string, what: string): void {
  if (name.length === 0 || Buffer.byteLength(name) > 63 || /[\x00-\x1f\x7f]/.test(name))
    throw new PrismError('INVALID_ARGUMENT', `${what} ${JSON.stringify(name)}: a restore point name has 1 to 63 bytes and no control characters.`, { name });
}

/**
 * `prism pg restore --data-dir DIR [--at TIME | --target-lsn LSN | --target-xid XID |
 * --target-name NAME | --target-immediate]`: the latest base backup before the target, on the
 * timeline recovery follows (or an ancestor it left after the backup), unpacked into an empty
 * DIR and set up to recover with WAL from the repository (recovery.signal or standby.signal;
 * restore_command, the target, recovery_target_timeline, archive_mode in postgresql.auto.conf).
 * Starting the server does the rest.
 */
export async function restorePointInTime(ctx: AppContext, o: PgRestoreOptions): Promise<PgRestoreReport> {
  const dir = resolve(o.dataDir);
  const target = o.target;
  checkTarget(target);
  const standby = o.standbyOf !== undefined;
  const primary: DbTarget | undefined = standby ? resolveDbTarget({ url: o.standbyOf! }, process.env, 'postgres', '--primary-url') : undefined;
  if (standby && target.kind !== 'end')
    throw new PrismError(
      'INVALID_ARGUMENT',
      '--type standby follows its primary without end: it takes no recovery target (--at, --target-*). Promote it when you need it (pg_ctl promote).',
    );
  if (o.exclusive && (target.kind === 'name' || target.kind === 'immediate' || target.kind === 'end'))
    throw new PrismError('INVALID_ARGUMENT', '--target-exclusive applies to --at, --target-lsn and --target-xid only.');
  if (o.action !== undefined && target.kind === 'end')
    throw new PrismError(
      'INVALID_ARGUMENT',
      `--target-action needs a recovery target (--at, --target-lsn, --target-xid, --target-name or --target-immediate): at the end of the archive PostgreSQL promotes.`,
    );
  const action = o.action ?? 'promote';
  const archiveMode = o.archiveMode ?? 'off';

  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', 'prism pg restore');
  try {
    const bases = await listBaseRecords(repo);
    const allWal = await listWalRecords(repo);
    const tls = archiveTimelines(allWal, await readHistories(repo, allWal), bases);
    const known = () => [...tls.keys()].sort((a, b) => a - b).join(', ') || 'none';
    const warnings: string[] = [];

    let point: RestorePointRecord | undefined;
    if (target.kind === 'name') {
      const points = await listRestorePointRecords(repo);
      const named = points.filter((p) => p.name === target.name);
      point = named.at(-1);
      if (!point)
        throw new PrismError(
          'INVALID_ARGUMENT',
          `--target-name ${target.name}: the repository has no restore point of that name (${points.length > 0 ? `it has: ${[...new Set(points.map((p) => p.name))].join(', ')}` : 'it has none'}; \`prism pg restore-points\` lists them, \`prism pg restore-point NAME\` creates one).`,
          { name: target.name },
        );
      if (named.length > 1)
        warnings.push(`${named.length} restore points are named ${target.name}: recovering to the newest (LSN ${point.lsn}, timeline ${point.timeline}).`);
    }

    // the timeline: asked for, or the one the target lies on
    if (typeof o.timeline === 'number' && !tls.has(o.timeline))
      throw new PrismError(
        'INVALID_ARGUMENT',
        `--target-timeline ${o.timeline}: timeline ${o.timeline} is not in the archive (it holds timelines ${known()}); give one of them, latest or current.`,
        { timeline: o.timeline },
      );
    let tli: number | undefined;
    let setting: TimelineChoiceFlag;
    let reason: string;
    if (o.timeline === 'current' || (o.timeline === undefined && target.kind === 'immediate')) {
      setting = 'current';
      reason = "the base backup's timeline (current)";
    } else if (o.timeline === 'latest') {
      tli = latestTimeline(tls);
      setting = 'latest';
      reason = 'the newest timeline in the archive (latest)';
    } else if (typeof o.timeline === 'number') {
      tli = setting = o.timeline;
      reason = '--target-timeline';
    } else if (target.kind === 'time') {
      const c = timelineAt(tls, target.time.getTime());
      tli = setting = c.tli;
      reason = `the timeline live at ${target.time.toISOString()}`;
      if (c.warning) warnings.push(c.warning);
    } else if (point) {
      tli = setting = point.timeline;
      reason = `the restore point's timeline`;
    } else if ((target.kind === 'lsn' || target.kind === 'xid') && tls.size > 1) {
      const c =
        target.kind === 'lsn'
          ? timelineOfLsn(tls, allWal, target.lsn, bases.at(-1)?.server.wal_segment_size ?? 16 * 1024 * 1024)
          : timelineOfXid(tls, bases, target.xid);
      tli = setting = c.tli;
      reason = c.unambiguous
        ? target.kind === 'lsn'
          ? `the timeline that holds ${target.lsn.toUpperCase()} (WAL below a switch point is the parent's)`
          : `the timeline transaction ${target.xid} can have committed on (from the base backups' next transaction ids)`
        : `one of the timelines that may hold the target (${c.candidates.join(', ')}; see the warning)`;
      if (c.warning) warnings.push(c.warning);
    } else if (primary) {
      const live = await serverTimeline(primary).catch(() => undefined);
      const latest = latestTimeline(tls);
      if (!live) {
        tli = latest;
        setting = 'latest';
        reason = 'the newest timeline in the archive (latest)';
        warnings.push(`Cannot reach the primary (${primary.shown}) to learn its timeline: the standby follows the newest timeline in the archive.`);
      } else if (live.timeline >= latest) {
        tli = live.timeline;
        setting = 'latest';
        reason = "the primary's timeline, the newest (latest: the standby follows a promotion)";
      } else {
        tli = setting = live.timeline;
        reason = "the primary's timeline";
        warnings.push(
          `The archive holds timelines newer than the primary's (${live.timeline}): clusters restored from this repository archived into it. The standby is held to timeline ${live.timeline}; after a failover, set recovery_target_timeline to the new one.`,
        );
      }
    } else {
      tli = latestTimeline(tls);
      setting = 'latest';
      reason = 'the newest timeline in the archive (latest)';
      if (tls.size > 1)
        warnings.push(
          `The archive holds timelines ${known()}: recovery follows ${tli}, the newest. A recovery to the end of another needs --target-timeline N (or current: the base backup's).`,
        );
    }

    const line = tli === undefined ? undefined : lineageOf(tls, tli);
    if (point && line && !onLine(line, point.timeline, parseLsn(point.lsn)))
      throw new PrismError(
        'INVALID_ARGUMENT',
        `Restore point ${point.name} is on timeline ${point.timeline} at ${point.lsn}, which timeline ${tli} does not pass through; leave out --target-timeline or give ${point.timeline}.`,
      );

    const base = chooseBase(bases, o.base, target, point, line, tli, warnings);
    const follow = tli ?? base.timeline;
    const lineage = line ?? lineageOf(tls, follow);
    const segSize = base.server.wal_segment_size;
    const wal = segmentsOnLineage(allWal, lineage, base.start_wal, segSize);
    const have = new Set(allWal.map((w) => w.name));
    const last = wal.at(-1);
    const stopSeg = segmentOnLineage(lineage, parseLsn(base.stop_lsn), segSize);
    if (!have.has(stopSeg))
      warnings.push(`The archive does not hold ${stopSeg}, the last segment base backup ${base.id} needs: recovery cannot become consistent.`);
    if (target.kind === 'time' && last && Date.parse(last.archived_at) < target.time.getTime())
      warnings.push(
        `The newest WAL file of timeline ${follow} (${last.name}) was archived at ${last.archived_at}, before the target time: recovery ends there, and PostgreSQL stops with "recovery ended before configured recovery target was reached" unless more WAL is archived.`,
      );
    const targetLsn = target.kind === 'lsn' ? target.lsn : point?.lsn;
    if (targetLsn !== undefined) {
      const seg = segmentOnLineage(lineage, parseLsn(targetLsn), segSize);
      if (!have.has(seg))
        warnings.push(
          `The archive does not hold ${seg}, the segment of ${targetLsn}: PostgreSQL stops with "recovery ended before configured recovery target was reached" until the server archives it (SELECT pg_switch_wal() there).`,
        );
    }

    prepareDataDir(dir);
    ctx.logger.info({ event: 'pg.restore.start', base: base.id, target: target.kind, timeline: follow, data_dir: dir }, 'point-in-time restore started');
    await extractBaseBackup(dir, readStream(repo, base.content, base.sha256));
    const repoFlag = `--repo ${shellQuote(ctx.config.storagePath)}`;
    const prefetch = o.prefetch ?? ctx.config.backup.pitr.restore_prefetch;
    const restoreCommand = `${o.walCommand ?? `${o.prismCommand} pg`} restore-wal %f %p ${repoFlag}${o.prefetch !== undefined ? ` --prefetch ${o.prefetch}` : ''}`;
    // PostgreSQL runs it in the data directory: the fetch ahead into pg_wal's spool stops, and what it fetched goes
    const recoveryEndCommand = prefetch > 0 ? `${o.prismCommand} pg restore-end ${repoFlag}` : undefined;
    const value = targetValue(target);
    writeRecoverySettings(dir, {
      restoreCommand,
      ...(recoveryEndCommand ? { recoveryEndCommand } : {}),
      target,
      timeline: setting,
      action,
      exclusive: o.exclusive ?? false,
      archiveMode,
      ...(primary ? { primaryConninfo: primaryConninfo(primary) } : {}),
      comment: `prism pg restore: base backup ${base.id}, ${standby ? `standby of ${primary!.shown}` : `recovery to ${target.kind === 'end' ? 'the end of the archive' : `${target.kind} ${value}`}`}, timeline ${follow}`,
    });
    matchDataDirOwner(dir);
    ctx.logger.info({ event: 'pg.restore.done', base: base.id, data_dir: dir }, 'point-in-time restore prepared');
    return {
      data_dir: dir,
      type: standby ? 'standby' : 'recovery',
      base_backup: base.id,
      base_finished_at: base.finished_at,
      base_timeline: base.timeline,
      target: { kind: target.kind, value, exclusive: o.exclusive ?? false, action: target.kind === 'end' ? null : action },
      target_time: target.kind === 'time' ? pgTimestamp(target.time) : null,
      timeline: follow,
      recovery_target_timeline: String(setting),
      timeline_reason: reason,
      archive_mode: archiveMode,
      primary: primary?.shown ?? null,
      restore_command: restoreCommand,
      recovery_end_command: recoveryEndCommand ?? null,
      wal_files: wal.length,
      last_wal: last?.name ?? null,
      last_archived_at: last?.archived_at ?? null,
      warnings,
    };
  } catch (e) {
    throw asArchiveError(e, `restoring into ${dir}`);
  } finally {
    await lock.release().catch(() => {});
  }
}

function targetValue(t: RecoveryTarget): string | null {
  if (t.kind === 'time') return pgTimestamp(t.time);
  if (t.kind === 'lsn') return t.lsn.toUpperCase();
  if (t.kind === 'xid') return t.xid;
  if (t.kind === 'name') return t.name;
  return null;
}

function onLine(line: Lineage, tli: number, lsn: bigint): boolean {
  const e = line.find((l) => l.tli === tli);
  return e !== undefined && lsn <= e.upto;
}

/** Whether recovery from `b` can reach the target (null: cannot tell). */
function reaches(b: BaseRecord, target: RecoveryTarget, point: RestorePointRecord | undefined): boolean | null {
  if (target.kind === 'time') return Date.parse(b.finished_at) <= target.time.getTime();
  if (target.kind === 'lsn') return parseLsn(b.stop_lsn) <= parseLsn(target.lsn);
  if (point) return parseLsn(b.stop_lsn) <= parseLsn(point.lsn);
  if (target.kind === 'xid') {
    if (b.next_xid === undefined) return null;
    const next = BigInt(b.next_xid);
    return next <= fullXid(target.xid, next);
  }
  return true;
}

function chooseBase(
  bases: BaseRecord[],
  id: string | undefined,
  target: RecoveryTarget,
  point: RestorePointRecord | undefined,
  line: Lineage | undefined,
  tli: number | undefined,
  warnings: string[],
): BaseRecord {
  const what =
    target.kind === 'time'
      ? `finished at or before ${target.time.toISOString()}`
      : target.kind === 'lsn'
        ? `ended before ${target.lsn}`
        : point
          ? `ended before restore point ${point.name} (${point.lsn})`
          : target.kind === 'xid'
            ? `is known to precede transaction ${target.xid}`
            : 'exists';
  if (id !== undefined) {
    const b = bases.find((x) => x.id === id);
    if (!b)
      throw new PrismError(
        'INVALID_ARGUMENT',
        `--base ${id}: no such base backup in the repository (${bases.length > 0 ? `it has: ${bases.map((x) => x.id).join(', ')}` : 'it has none'}; \`prism pg wal list\`).`,
        { base: id },
      );
    if (line && !baseOnLineage(b, line))
      throw new PrismError(
        'INVALID_ARGUMENT',
        `--base ${id} was taken on timeline ${b.timeline}, which timeline ${tli} does not pass through up to the backup's end (${b.stop_lsn}); choose a base backup of that line or another --target-timeline.`,
        { base: id },
      );
    const ok = reaches(b, target, point);
    if (ok === false)
      throw new PrismError(
        'INVALID_ARGUMENT',
        `--base ${id} (finished ${b.finished_at}, ended at ${b.stop_lsn}) is after the recovery target: recovery cannot go back. Choose a base backup that ${what}.`,
        { base: id },
      );
    if (ok === null)
      warnings.push(
        `Base backup ${id} did not record which transactions follow it: transaction ${(target as { xid: string }).xid} must commit after it ended.`,
      );
    return b;
  }
  const onTimeline = line ? bases.filter((b) => baseOnLineage(b, line)) : bases;
  const base = onTimeline.filter((b) => reaches(b, target, point) === true).at(-1);
  if (base) return base;
  const first = onTimeline[0];
  const where = line && tli !== undefined && (tli !== 1 || bases.some((b) => b.timeline !== 1)) ? ` on the line of timeline ${tli}` : '';
  if (target.kind === 'xid' && onTimeline.some((b) => b.next_xid === undefined))
    throw new PrismError(
      'INVALID_ARGUMENT',
      `No base backup${where} is known to precede transaction ${target.xid} (older ones did not record transaction ids): pass --base ID of one taken before the transaction began (\`prism pg wal list\`).`,
      { xid: target.xid },
    );
  throw new PrismError(
    'PG_ARCHIVE_FAILED',
    `No base backup ${what}${where}${first ? ` (the oldest finished at ${first.finished_at})` : bases.length > 0 ? ` (the repository's are on other timelines: ${[...new Set(bases.map((b) => b.timeline))].join(', ')})` : ' (the repository holds none: run `prism pg basebackup`)'}.`,
    { target: target.kind },
  );
}

/** primary_conninfo for a standby: the URL's server, user, password and TLS settings. */
function primaryConninfo(t: DbTarget): string {
  const tls = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslcrl'];
  return conninfo({
    host: t.host,
    port: t.port,
    user: t.user,
    password: t.password,
    dbname: t.database || undefined,
    ...Object.fromEntries(tls.filter((k) => t.params[k] !== undefined).map((k) => [k, t.params[k]])),
  });
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
