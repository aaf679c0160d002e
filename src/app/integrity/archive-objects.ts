import { baseRecordName, binlogRecordName, mysqlBaseRecordName, walRecordName, type Repository } from '../../repo/index.js';
import type { ObjectCheck, StoredObject } from '../../snapshot/checker.js';
import type { AppContext } from '../context.js';
import { recordRepositoryEvent } from '../monitoring/events.js';
import { scanBinlogRecords } from '../pitr/mysql/mysql-binlog-records.js';
import { scanPhysicalRecords } from '../pitr/mysql/mysql-physical-records.js';
import { scanPgRecords } from '../pitr/postgres/pg-records.js';

/** A record that cannot be read at all. */
export interface DamagedRecord {
  name: string;
  message: string;
}

export interface PgArchiveCheck {
  ok: boolean;
  checksum: 'verified' | 'mismatch';
  wal_files: number;
  base_backups: number;
  /** Records whose data is missing or damaged: `pg/wal/<name>.json`, `pg/base/<id>.json`. */
  damaged: Array<{ record: string; reason: string }>;
  /** Records that cannot be read at all. */
  damaged_records: DamagedRecord[];
}

export interface BinlogArchiveCheck {
  ok: boolean;
  checksum: 'verified' | 'mismatch';
  files: number;
  /** MariaDB physical base backups (`mysql/base/<id>.json`), checked with the binary log archive; absent when there are none. */
  base_backups?: number;
  /** Records whose data is missing or damaged: `mysql/binlog/<database>/<file>.json`, `mysql/base/<id>.json`. */
  damaged: Array<{ record: string; reason: string }>;
  /** Records that cannot be read at all. */
  damaged_records: DamagedRecord[];
}

/** The point-in-time archives' records (PostgreSQL WAL and base backups, MySQL/MariaDB binary logs) as objects to check. */
export interface ArchiveScan {
  objects: StoredObject[];
  counts: { wal: number; base: number; binlog: number; mysqlBase: number };
  damaged: { pg: DamagedRecord[]; mysql: DamagedRecord[] };
}

export async function scanArchives(repo: Repository): Promise<ArchiveScan> {
  const damaged: ArchiveScan['damaged'] = { pg: [], mysql: [] };
  const pg = await scanPgRecords(repo, (name, e) => damaged.pg.push({ name, message: e.message }));
  const binlogs = await scanBinlogRecords(repo, (name, e) => damaged.mysql.push({ name, message: e.message }));
  const physical = await scanPhysicalRecords(repo, (name, e) => damaged.mysql.push({ name, message: e.message }));
  return {
    objects: [
      ...pg.wal.map((w) => ({ name: walRecordName(w.name), content: w.content, size: w.size })),
      ...pg.base.map((b) => ({ name: baseRecordName(b.id), content: b.content, size: b.size })),
      ...binlogs.map((b) => ({ name: binlogRecordName(b.database, b.name), content: b.content, size: b.size })),
      ...physical.map((b) => ({ name: mysqlBaseRecordName(b.id), content: b.content, size: b.size })),
    ],
    counts: { wal: pg.wal.length, base: pg.base.length, binlog: binlogs.length, mysqlBase: physical.length },
    damaged,
  };
}

/**
 * The archives' part of a check, with an event per archive for the alert rules: `verify.failed`
 * (high) naming the damaged records, and, when `clean` says the whole archive was read
 * (`verify --all`), `verify.ok` for an archive found whole, which resolves an earlier alert.
 */
export function archiveChecks(
  ctx: AppContext,
  scan: ArchiveScan,
  checked: readonly ObjectCheck[],
  clean: boolean,
): { pg: PgArchiveCheck | null; mysql: BinlogArchiveCheck | null } {
  const damagedIn = (prefix: string) => checked.filter((o) => !o.ok && o.name.startsWith(prefix)).map((o) => ({ record: o.name, reason: o.reason! }));
  const judge = (archive: 'pg' | 'mysql', what: string, damaged: Array<{ record: string }>): boolean => {
    const names = [...scan.damaged[archive].map((d) => d.name), ...damaged.map((d) => d.record)];
    const time = ctx.clock.now().toISOString();
    if (names.length === 0) {
      if (clean) recordRepositoryEvent(ctx, { time, severity: 'info', event: 'verify.ok', archive });
      return true;
    }
    recordRepositoryEvent(ctx, {
      time,
      severity: 'high',
      event: 'verify.failed',
      archive,
      records: names.slice(0, 100),
      message: `${names.length} ${what} record(s) damaged: ${names.slice(0, 5).join(', ')}`,
    });
    ctx.logger.error({ event: 'verify.failed', archive, records: names.length }, `${what} damaged`);
    return false;
  };
  const { counts, damaged } = scan;
  let pg: PgArchiveCheck | null = null;
  if (counts.wal + counts.base + damaged.pg.length > 0) {
    const d = damagedIn('pg/');
    const ok = judge('pg', 'PostgreSQL archive', d);
    pg = { ok, checksum: ok ? 'verified' : 'mismatch', wal_files: counts.wal, base_backups: counts.base, damaged: d, damaged_records: damaged.pg };
  }
  let mysql: BinlogArchiveCheck | null = null;
  if (counts.binlog + counts.mysqlBase + damaged.mysql.length > 0) {
    const d = damagedIn('mysql/');
    const ok = judge('mysql', 'binary log archive', d);
    mysql = {
      ok,
      checksum: ok ? 'verified' : 'mismatch',
      files: counts.binlog,
      ...(counts.mysqlBase > 0 ? { base_backups: counts.mysqlBase } : {}),
      damaged: d,
      damaged_records: damaged.mysql,
    };
  }
  return { pg, mysql };
}
