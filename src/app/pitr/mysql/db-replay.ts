import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismError } from '../../../errors/index.js';
import type { DbRecord, Manifest, Repository } from '../../../repo/index.js';
import type { DbTarget } from '../../../source/db/db-credentials.js';
import type { TableOutcome } from '../../../source/db/db-restore.js';
import { undoDbRestore } from '../../../source/db/db-undo.js';
import { parseDbUrl } from '../../../source/db/db-url.js';
import { binlogSequence, dropMysqlTables, mysqlTableNames, replayBinlog, stopDatetime, type ReplayResult } from '../../../source/mysql/mysql-binlog.js';
import { listBinlogRecords, writeBinlogs, type BinlogRecord } from './mysql-binlog-records.js';
import { resolveBackup } from '../../backups/resolve-backup.js';

/** What a point-in-time restore replays on top of the dump: from the backup's binlog position to the target time. */
export interface ReplayPlan {
  from: { file: string; position: number; gtid: string | null };
  /** The target time asked for. */
  until: string;
  /** Passed to mariadb-binlog: events time-stamped at or after this second (UTC) are not replayed. */
  stop_datetime: string;
  /** Archived binary log files replayed, in order. */
  files: string[];
  warnings: string[];
}

export type ReplayReport = ReplayPlan & Partial<Pick<ReplayResult, 'events' | 'last_event_at'>>;

/**
 * The backup a replay starts from: by id, or the latest completed backup of the database that
 * finished at or before `at` (a dump taken while `at` passed may already hold later changes).
 * Its record must carry a binlog position.
 */
export async function replayBackup(repo: Repository, sel: { id?: string | undefined; at: Date; db: string }): Promise<{ m: Manifest; rec: DbRecord }> {
  const at = sel.at.getTime();
  let m: Manifest;
  if (sel.id !== undefined) {
    m = await resolveBackup(repo, { id: sel.id });
    if (m.finished_at === null || Date.parse(m.finished_at) > at) {
      throw new PrismError(
        'INVALID_ARGUMENT',
        `Backup ${m.id} finished at ${m.finished_at ?? '(never)'}, after ${sel.at.toISOString()}: its dump may already hold later changes. Give an earlier backup, or leave out the id to take the latest one that finished before --at.`,
        { id: m.id },
      );
    }
  } else {
    const all = (await repo.listManifests())
      .filter((x) => x.status === 'completed' && x.finished_at !== null && Date.parse(x.finished_at) <= at && x.databases?.some((d) => d.name === sel.db))
      .sort((a, b) => Date.parse(a.finished_at!) - Date.parse(b.finished_at!));
    const last = all.at(-1);
    if (!last)
      throw new PrismError('BACKUP_NOT_FOUND', `No completed backup of database ${sel.db} finished at or before ${sel.at.toISOString()}.`, {
        at: sel.at.toISOString(),
        database: sel.db,
      });
    m = last;
    const rec = m.databases!.find((d) => d.name === sel.db)!;
    if (rec.type === 'mysql' && !rec.binlog) {
      const older = all.filter((x) => x.databases!.some((d) => d.name === sel.db && d.binlog)).at(-1);
      throw noPosition(m, rec, older ? ` Backup ${older.id}, older, has one: give its id to replay from there.` : '');
    }
  }
  const rec = m.databases?.find((d) => d.name === sel.db);
  if (!rec) {
    const names = (m.databases ?? []).map((d) => d.name);
    throw new PrismError('INVALID_ARGUMENT', `Backup ${m.id} holds no database "${sel.db}"${names.length > 0 ? `; it holds: ${names.join(', ')}` : ''}.`, {
      id: m.id,
      database: sel.db,
    });
  }
  if (rec.type !== 'mysql')
    throw new PrismError(
      'INVALID_ARGUMENT',
      `--replay replays MySQL/MariaDB binary logs; ${rec.name} is PostgreSQL: use \`prism pg restore --at TIME\` (WAL archive and base backups) for its point-in-time recovery.`,
      { database: rec.name },
    );
  if (!rec.binlog) throw noPosition(m, rec, '');
  return { m, rec };
}

function noPosition(m: Manifest, rec: DbRecord, more: string): PrismError {
  return new PrismError(
    'BINLOG_POSITION_MISSING',
    `Backup ${m.id} of database ${rec.name} records no binary log position: binary logging (log_bin) was off on ${rec.url} when it was taken, so there is no point to replay from. Enable log_bin on the server, take a new backup, and archive the binary logs from then on (\`prism mysql archive-binlog --db ${rec.name}\`).${more}`,
    { id: m.id, database: rec.name },
  );
}

/**
 * The archived files a replay from the backup's position to `at` needs: the file holding the
 * position, then each next one as long as the previous one closed before the target second.
 * A missing file is a gap (BINLOG_GAP naming it); an archive that ends before `at` too, since
 * what happened between its end and `at` is unknown.
 */
export async function planReplay(
  repo: Repository,
  m: Pick<Manifest, 'id'>,
  rec: Pick<DbRecord, 'name' | 'binlog'>,
  at: Date,
): Promise<{ plan: ReplayPlan; records: BinlogRecord[] }> {
  const pos = rec.binlog!;
  const all = await listBinlogRecords(repo, rec.name);
  const start = binlogSequence(pos.file);
  const series = new Map(all.filter((r) => binlogSequence(r.name).base === start.base).map((r) => [binlogSequence(r.name).seq, r]));
  const archiveCmd = `prism mysql archive-binlog --db ${rec.name} --flush`;
  const first = series.get(start.seq);
  if (!first) {
    throw new PrismError(
      'BINLOG_GAP',
      `The binary log archive of ${rec.name} lacks ${pos.file}, which holds backup ${m.id}'s position (${pos.file}:${pos.position}): run \`${archiveCmd}\` while the server still has it.`,
      { database: rec.name, missing: [pos.file] },
    );
  }
  if (first.size < pos.position)
    throw new PrismError('REPO_CORRUPT', `Archived ${pos.file} has ${first.size} bytes, less than backup ${m.id}'s position ${pos.position} in it.`, {
      file: pos.file,
    });
  const stopSec = Math.floor(at.getTime() / 1000);
  const files = [first];
  for (let cur = first; Math.floor(Date.parse(cur.last_event_at) / 1000) < stopSec;) {
    const seq = binlogSequence(cur.name).seq + 1;
    const next = series.get(seq);
    if (!next) {
      const later = [...series.keys()].filter((k) => k > seq).sort((a, b) => a - b)[0];
      const width = cur.name.length - start.base.length - 1;
      const name = (n: number) => `${start.base}.${String(n).padStart(width, '0')}`;
      if (later !== undefined) {
        const missing = later - 1 > seq ? `${name(seq)} … ${name(later - 1)}` : name(seq);
        throw new PrismError(
          'BINLOG_GAP',
          `The binary log archive of ${rec.name} has a gap: ${missing} (after ${cur.name}, closed ${cur.last_event_at}) ${later - 1 > seq ? 'are' : 'is'} missing, and a replay to ${at.toISOString()} needs ${later - 1 > seq ? 'them' : 'it'}. Archive ${later - 1 > seq ? 'them' : 'it'} if the server still has ${later - 1 > seq ? 'them' : 'it'} (\`${archiveCmd}\`), or restore to a time before ${cur.last_event_at}.`,
          {
            database: rec.name,
            missing: [name(seq), name(later - 1)],
          },
        );
      }
      throw new PrismError(
        'BINLOG_GAP',
        `The binary log archive of ${rec.name} ends with ${cur.name}, closed ${cur.last_event_at}, before ${at.toISOString()}: ${name(seq)} and later are not archived yet. Run \`${archiveCmd}\` (--flush closes the file in use), or restore to a time before ${cur.last_event_at}.`,
        {
          database: rec.name,
          missing: [name(seq)],
        },
      );
    }
    files.push(next);
    cur = next;
  }
  const warnings: string[] = [];
  if (pos.format && pos.format !== 'ROW') {
    warnings.push(
      `binlog_format was ${pos.format} at the backup: statements are chosen by their default database (USE), so one that names another database's tables runs there too and one that changes ${rec.name} from another default database is left out. binlog_format = ROW avoids both.`,
    );
  }
  return {
    plan: {
      from: { file: pos.file, position: pos.position, gtid: pos.gtid ?? null },
      until: at.toISOString(),
      stop_datetime: stopDatetime(at),
      files: files.map((f) => f.name),
      warnings,
    },
    records: files,
  };
}

/**
 * Replays the planned files into `target` after its dump was restored (`outcomes`). A failure
 * undoes everything: tables the replay created are dropped and the restore itself is undone
 * (replaced tables back from their safety copies, created ones dropped). DDL the replay ran on
 * other objects (views, routines) cannot be undone.
 */
export async function runReplay(
  repo: Repository,
  target: DbTarget,
  rec: DbRecord,
  at: Date,
  records: readonly BinlogRecord[],
  outcomes: readonly TableOutcome[],
  log: (event: string, fields: Record<string, unknown>) => void,
): Promise<ReplayResult> {
  const dir = mkdtempSync(join(tmpdir(), 'prism-replay-'));
  try {
    const files = await writeBinlogs(repo, records, dir);
    const before = new Set(await mysqlTableNames(target));
    log('db.restore.replay', {
      database: rec.name,
      target: target.shown,
      from: rec.binlog,
      files: records.map((r) => r.name),
      stop_datetime: stopDatetime(at),
    });
    try {
      return await replayBinlog(target, { files, startPosition: rec.binlog!.position, stopAt: at, database: parseDbUrl(rec.url, 'mysql').database });
    } catch (e) {
      const why = (e as Error).message;
      try {
        await dropMysqlTables(
          target,
          (await mysqlTableNames(target)).filter((t) => !before.has(t)),
        );
        await undoDbRestore(target, outcomes);
      } catch (undo) {
        throw new PrismError(
          'DB_RESTORE_FAILED',
          `Replaying the binary log into ${target.shown} failed (${why}), and undoing the restore failed too (${(undo as Error).message}): the replaced tables' data is in their safety copies (${
            outcomes
              .map((o) => o.safety_copy)
              .filter(Boolean)
              .join(', ') || 'none'
          }).`,
          { url: target.shown, step: 'replaying the binary log' },
        );
      }
      throw new PrismError(
        'DB_RESTORE_FAILED',
        `Replaying the binary log into ${target.shown} failed; the restore was undone, the tables are as they were: ${why}`,
        { url: target.shown, step: 'replaying the binary log' },
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
