import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type mysql from 'mysql2/promise';
import * as v from 'valibot';
import { PrismError, isPrismError } from '../../../errors/index.js';
import { resolveDbTarget, type DbTarget } from '../../../source/db/db-credentials.js';
import { classifyDbError } from '../../../source/db/db-errors.js';
import {
  chownToMysql,
  extractXbstream,
  preparePhysical,
  preparePhysicalDir,
  replayIntoServer,
  type ServerReplayResult,
} from '../../../source/mysql/mariabackup-restore.js';
import { myConnect } from '../../../source/mysql/mysql-dump.js';
import { stopDatetime } from '../../../source/mysql/mysql-binlog.js';
import { lockRepository, openRepository, type AppContext } from '../../context.js';
import { readStream } from '../blob-store.js';
import { planReplay } from './db-replay.js';
import { writeBinlogs } from './mysql-binlog-records.js';
import { listPhysicalRecords, type PhysicalRecord } from './mysql-physical-records.js';

/** The replay a restore with --at leaves in the data directory for `prism mysql replay`. */
export const REPLAY_FILE = 'prism-replay.json';
/** What `prism mysql replay` renames it to once done: a second replay would apply the same transactions twice. */
export const REPLAYED_FILE = 'prism-replay.done.json';
/** ... or to this when the replay failed half-way. */
export const FAILED_FILE = 'prism-replay.failed.json';

const pendingSchema = v.object({
  format: v.literal(1),
  base_backup: v.string(),
  database: v.string(),
  at: v.string(),
  from: v.object({ file: v.string(), position: v.number(), gtid: v.optional(v.string()), format: v.optional(v.string()) }),
  files: v.array(v.string()),
  repository: v.string(),
});
type PendingReplay = v.InferOutput<typeof pendingSchema>;

export interface PhysicalRestoreOptions {
  dataDir: string;
  /** A base backup by id; default the latest (with `at`: the latest that finished at or before it). */
  base?: string | undefined;
  /** Restore to this time: the base backup, then (with `prism mysql replay` once the server runs) its binary log up to here. */
  at?: Date | undefined;
}

export interface PhysicalRestoreReport {
  data_dir: string;
  base_backup: string;
  base_finished_at: string;
  server_version: string;
  /** Where the restored data stands in the binary log (the base backup's position). */
  binlog: PhysicalRecord['binlog'];
  /** The OS user given the files (as root), or null. */
  owner: string | null;
  /** With --at: what `prism mysql replay` will replay. */
  replay: { database: string; until: string; stop_datetime: string; from: { file: string; position: number; gtid: string | null }; files: string[] } | null;
  /** What to do next, in order. */
  next: string[];
}

function pickBase(bases: readonly PhysicalRecord[], o: PhysicalRestoreOptions): PhysicalRecord {
  if (o.base !== undefined) {
    const b = bases.find((x) => x.id === o.base);
    if (!b)
      throw new PrismError(
        'BACKUP_NOT_FOUND',
        `No physical base backup ${o.base} in this repository (${bases.length > 0 ? `it has: ${bases.map((x) => x.id).join(', ')}` : 'it holds none: run `prism mysql basebackup`'}).`,
        { id: o.base },
      );
    if (o.at && Date.parse(b.finished_at) > o.at.getTime())
      throw new PrismError(
        'INVALID_ARGUMENT',
        `Base backup ${b.id} finished at ${b.finished_at}, after ${o.at.toISOString()}: it may already hold later changes. Give an earlier one, or leave out --base to take the latest before --at.`,
        { id: b.id },
      );
    return b;
  }
  const fit = o.at ? bases.filter((b) => Date.parse(b.finished_at) <= o.at!.getTime()) : bases;
  const b = fit.at(-1);
  if (!b)
    throw new PrismError(
      'BACKUP_NOT_FOUND',
      o.at
        ? `No physical base backup finished at or before ${o.at.toISOString()}${bases[0] ? ` (the oldest finished at ${bases[0].finished_at})` : ' (the repository holds none: run `prism mysql basebackup`)'}.`
        : 'The repository holds no physical base backup: run `prism mysql basebackup` on the database host.',
      o.at ? { at: o.at.toISOString() } : {},
    );
  return b;
}

/**
 * `prism mysql restore --data-dir DIR [--base ID | --at TIME]`: a physical base backup unpacked
 * (mbstream -x) into an empty or new DIR and prepared (mariabackup --prepare), its files given to
 * the mysql user when run as root. A server started on DIR has the data of the moment the backup
 * ended. With --at, the replay of the archived binary log from the backup's position up to TIME is
 * planned now (a gap in the archive fails before anything is written) and left in
 * DIR/prism-replay.json for `prism mysql replay`, which runs it once the server is up: replaying
 * needs a running server, and starting one (its configuration, port, user, service manager) is
 * the operator's.
 */
export async function restorePhysical(ctx: AppContext, o: PhysicalRestoreOptions): Promise<PhysicalRestoreReport> {
  const dir = resolve(o.dataDir);
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', 'prism mysql restore');
  let wrote = false;
  try {
    const base = pickBase(await listPhysicalRecords(repo), o);
    let pending: PendingReplay | undefined;
    if (o.at) {
      if (!base.binlog)
        throw new PrismError(
          'BINLOG_POSITION_MISSING',
          `Base backup ${base.id} records no binary log position (binary logging was off on ${base.server.url}): it restores to ${base.finished_at} only. Leave out --at, or take base backups with log_bin on.`,
          { id: base.id },
        );
      if (base.database === null)
        throw new PrismError(
          'BINLOG_POSITION_MISSING',
          `Base backup ${base.id} was taken with --url, so no binary log archive is tied to it. Leave out --at, or take base backups with --db NAME (the archive of \`prism mysql archive-binlog --db NAME\`).`,
          { id: base.id },
        );
      const { plan } = await planReplay(repo, { id: base.id }, { name: base.database, binlog: base.binlog }, o.at);
      pending = {
        format: 1,
        base_backup: base.id,
        database: base.database,
        at: o.at.toISOString(),
        from: base.binlog,
        files: plan.files,
        repository: ctx.config.storagePath,
      };
    }
    preparePhysicalDir(dir);
    wrote = true;
    ctx.logger.info({ event: 'mysql.restore.start', base: base.id, data_dir: dir, at: o.at?.toISOString() }, 'physical restore started');
    await extractXbstream(dir, readStream(repo, base.content, base.sha256));
    await preparePhysical(dir);
    if (pending) writeFileSync(join(dir, REPLAY_FILE), JSON.stringify(pending, null, 2) + '\n', { mode: 0o600 });
    const owner = chownToMysql(dir);
    ctx.logger.info({ event: 'mysql.restore.done', base: base.id, data_dir: dir }, 'physical restore prepared');
    const next = [
      `Start a MariaDB ${base.server.version.replace(/-.*$/, '')} server on it, for instance: mariadbd --datadir=${dir} --port=3307 --socket=${join(dir, 'restore.sock')}${owner ? ' --user=mysql' : ''} (or point the service's datadir at it); binary logging as the original had it.`,
    ];
    if (pending)
      next.push(
        `Before the applications reconnect, replay the binary log up to ${pending.at}: prism mysql replay --data-dir ${dir} --url mysql://root@127.0.0.1:3307/mysql (${pending.files.length} archived file(s) from ${pending.from.file}:${pending.from.position}).`,
      );
    return {
      data_dir: dir,
      base_backup: base.id,
      base_finished_at: base.finished_at,
      server_version: base.server.version,
      binlog: base.binlog,
      owner,
      replay: pending
        ? {
            database: pending.database,
            until: pending.at,
            stop_datetime: stopDatetime(new Date(pending.at)),
            from: { file: pending.from.file, position: pending.from.position, gtid: pending.from.gtid ?? null },
            files: pending.files,
          }
        : null,
      next,
    };
  } catch (e) {
    // the directory was empty or new: leave it so again, so the restore can simply be run again
    if (wrote) for (const n of existsSync(dir) ? readdirSync(dir) : []) rmSync(join(dir, n), { recursive: true, force: true });
    throw isPrismError(e) ? e : new PrismError('MYSQL_PHYSICAL_FAILED', `Restoring into ${dir} failed: ${(e as Error)?.message ?? String(e)}`, { path: dir });
  } finally {
    await lock.release().catch(() => {});
  }
}

export interface PhysicalReplayReport extends ServerReplayResult {
  data_dir: string;
  base_backup: string;
  server: string;
  until: string;
  from: { file: string; position: number; gtid: string | null };
  files: string[];
}

/**
 * `prism mysql replay --data-dir DIR --url URL`: the replay a `mysql restore --at` left in DIR,
 * into the server now running on DIR (its @@datadir must be DIR: never the original server,
 * which has these transactions already). The archive is planned again (files archived since the
 * restore count). Done, DIR/prism-replay.json becomes prism-replay.done.json with what ran; a
 * failed replay leaves it, with the transactions before the failure committed (the message says
 * which was the last).
 */
export async function replayPhysical(ctx: AppContext, o: { dataDir: string; url: string }): Promise<PhysicalReplayReport> {
  const dir = resolve(o.dataDir);
  const file = join(dir, REPLAY_FILE);
  if (!existsSync(file)) {
    throw new PrismError(
      'INVALID_ARGUMENT',
      existsSync(join(dir, REPLAYED_FILE)) || existsSync(join(dir, FAILED_FILE))
        ? `The replay of ${dir} ran already (${existsSync(join(dir, REPLAYED_FILE)) ? REPLAYED_FILE : `${FAILED_FILE}: it failed half-way`}); replaying again would apply the same transactions twice.`
        : `${dir} holds no ${REPLAY_FILE}: it comes from \`prism mysql restore --data-dir ${dir} --at TIME\`.`,
      { path: dir },
    );
  }
  let pending: PendingReplay;
  try {
    pending = v.parse(pendingSchema, JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    throw new PrismError('INVALID_ARGUMENT', `${file} is not a replay plan of prism mysql restore: ${(e as Error).message}`, { path: file });
  }
  const target = resolveDbTarget({ url: o.url }, process.env, 'mysql', '--url');
  await checkServerOn(target, dir);
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', 'prism mysql replay');
  const temp = mkdtempSync(join(tmpdir(), 'prism-replay-'));
  try {
    const at = new Date(pending.at);
    const { records } = await planReplay(repo, { id: pending.base_backup }, { name: pending.database, binlog: pending.from }, at);
    const files = await writeBinlogs(repo, records, temp);
    ctx.logger.info(
      { event: 'mysql.replay.start', base: pending.base_backup, server: target.shown, files: records.map((r) => r.name), at: pending.at },
      'binary log replay started',
    );
    const result = await replayIntoServer(target, { files, startPosition: pending.from.position, stopAt: at }).catch((e: unknown) => {
      // what ran before the failure is committed: a second replay would apply it twice
      renameSync(file, join(dir, FAILED_FILE));
      const pe = isPrismError(e) ? e : new PrismError('MYSQL_BINLOG_FAILED', String((e as Error)?.message ?? e));
      throw new PrismError(
        pe.code,
        `${pe.message} The transactions replayed before the failure are committed, so ${dir} now stands between base backup ${pending.base_backup} and ${pending.at}: stop the server, restore again (\`prism mysql restore --data-dir NEW_DIR --at ${pending.at}\`) and replay there after fixing the cause. The plan is kept as ${FAILED_FILE}.`,
        pe.details,
      );
    });
    const report: PhysicalReplayReport = {
      data_dir: dir,
      base_backup: pending.base_backup,
      server: target.shown,
      until: pending.at,
      from: { file: pending.from.file, position: pending.from.position, gtid: pending.from.gtid ?? null },
      files: records.map((r) => r.name),
      ...result,
    };
    writeFileSync(file, JSON.stringify({ ...pending, replayed: { ...result, at: ctx.clock.now().toISOString(), files: report.files } }, null, 2) + '\n');
    renameSync(file, join(dir, REPLAYED_FILE));
    ctx.logger.info(
      { event: 'mysql.replay.done', base: pending.base_backup, events: result.events, last_event_at: result.last_event_at },
      'binary log replayed',
    );
    return report;
  } finally {
    rmSync(temp, { recursive: true, force: true });
    await lock.release().catch(() => {});
  }
}

/** Refuses a server whose data directory is not `dir`: the replay belongs to the restored server only. */
async function checkServerOn(t: DbTarget, dir: string): Promise<void> {
  const c = await myConnect(t);
  let datadir: string;
  try {
    const [rows] = await c.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.datadir AS d');
    datadir = String(rows[0]!['d']);
  } catch (e) {
    throw classifyDbError(t, e, { what: 'reading @@datadir' });
  } finally {
    await c.end().catch(() => {});
  }
  const same = (a: string, b: string) => {
    try {
      return realpathSync(a) === realpathSync(b);
    } catch {
      return false;
    }
  };
  if (!same(datadir, dir))
    throw new PrismError(
      'INVALID_ARGUMENT',
      `The server at ${t.shown} runs on ${datadir}, not on ${dir}: the replay goes into the server started on the restored directory only (the original server has these transactions already). Point --url at that one.`,
      { url: t.shown, datadir },
    );
}
