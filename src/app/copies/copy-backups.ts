import type { CopyTarget } from '../../config/index.js';
import { fetchInOrder } from '../../core/in-order.js';
import { noProgress, type ProgressListener } from '../../core/progress.js';
import { PrismError } from '../../errors/index.js';
import { withProgressFile } from '../monitoring/progress-file.js';
import {
  BASE_RECORDS,
  BINLOG_RECORDS,
  MYSQL_BASE_RECORDS,
  WAL_RECORDS,
  RESTORE_POINT_RECORDS,
  copyPack,
  copyRecord,
  objectNames,
  openBackend,
  openCopy,
  rootTrees,
  type Manifest,
  openOwnKeyCopy,
  resealPacks,
  type IndexedBlob,
  type ReadBuffer,
  type Repository,
} from '../../repo/index.js';
import { FrameCompressor } from '../../codec/compress.js';
import { copyPassword } from './copy-password.js';
import { lockRepository, openRepository, type AppContext } from '../context.js';
import { binlogArchiveBlobs } from '../pitr/mysql/mysql-binlog-records.js';
import { physicalBaseBlobs } from '../pitr/mysql/mysql-physical-records.js';
import { pgArchiveBlobs } from '../pitr/postgres/pg-records.js';

/** Packs moved at once: uploads to a remote store overlap; at most this many packs (16 MiB each) in memory (4 took no less time to Ceph RGW than 2, and 50 MiB more). */
const PACKS_AT_ONCE = 2;
/** Packs moved between two index files of the copy (what an interrupted copy keeps, at most this many packs less). */
const PACKS_PER_INDEX = 32;

export interface CopyOptions {
  /** Backup ids to copy (with the backups they build on); none: every backup. */
  ids?: readonly string[];
  onProgress?: ProgressListener;
  lockWaitMs?: number;
  /**
   * With `ids`: copy the backups they build on too (default), so a chain stays whole in the copy.
   * False copies only the backups named: the service's copy job names those the copy's retention
   * keeps, which would otherwise pull back parents that retention has just removed there.
   */
  withParents?: boolean;
  /** Aborted (the service stops): the copy stops before its next pack; what it copied stays valid for the next run. */
  signal?: AbortSignal;
  /** The primary's manifests (oldest first) as the caller has just read them: not read again. */
  manifests?: readonly Manifest[];
}

export interface CopyReport {
  copy: string;
  repository: string;
  /** Backups copied by this run, oldest first. */
  copied: string[];
  /** Backups asked for that the copy already held. */
  already_there: number;
  /** Backups that could not be copied, and why (data missing in the primary). */
  skipped: Array<{ id: string; reason: string }>;
  /** PostgreSQL WAL / base backup and binary log records copied. */
  records_copied: number;
  packs_copied: number;
  /** Packs the backups need that the copy already held (an earlier, interrupted run). */
  packs_present: number;
  bytes_copied: number;
  duration_ms: number;
}

/**
 * Copies backups (and the point-in-time archives) from the primary repository into the copy
 * `target`, moving only what the copy lacks: packs (as they are, or sealed again for a copy with
 * its own key) a batch at a time, each batch followed by an index file naming them, then the
 * archive records, then the manifests, oldest first. Killed at any point, the copy
 * holds only whole backups (a manifest is written once its data is there) and the next run
 * finishes the work without moving the packs again.
 */
export function copyBackups(ctx: AppContext, target: CopyTarget, opts: CopyOptions = {}): Promise<CopyReport> {
  return withProgressFile(ctx, 'copy', `copy ${target.name}`, opts.onProgress, (onProgress) => copyBackupsReporting(ctx, target, { ...opts, onProgress }));
}

async function copyBackupsReporting(ctx: AppContext, target: CopyTarget, opts: CopyOptions): Promise<CopyReport> {
  const started = ctx.clock.now().getTime();
  const progress = opts.onProgress ?? noProgress;
  const source = await openRepository(ctx);
  const sourceLock = await lockRepository(ctx, source, 'shared', 'backup copy', opts.lockWaitMs ?? 0);
  try {
    const backend = await openBackend(target.location, process.env, target.objectLock ? { objectLock: target.objectLock } : {});
    const dest = target.passwordFile
      ? await openOwnKeyCopy(backend, source, copyPassword(target.passwordFile), ctx.clock, ctx.kdf)
      : await openCopy(backend, source, ctx.clock);
    const destLock = await lockRepository(ctx, dest, 'shared', 'backup copy', opts.lockWaitMs ?? 0);
    try {
      const report = await copyLocked(ctx, source, dest, target, opts, progress);
      const out: CopyReport = { copy: target.name, repository: target.location, ...report, duration_ms: ctx.clock.now().getTime() - started };
      ctx.logger.info(
        { event: 'copy.done', copy: target.name, copied: out.copied, packs: out.packs_copied, bytes: out.bytes_copied, skipped: out.skipped },
        `copied ${out.copied.length} backup(s) to ${target.name}`,
      );
      return out;
    } finally {
      await destLock.release();
    }
  } finally {
    await sourceLock.release();
  }
}

type CopyWork = Omit<CopyReport, 'copy' | 'repository' | 'duration_ms'>;

async function copyLocked(
  ctx: AppContext,
  source: Repository,
  dest: Repository,
  target: CopyTarget,
  opts: CopyOptions,
  progress: ProgressListener,
): Promise<CopyWork> {
  // the copy's listings overlap their round trips with each other and with the primary's reads
  const [manifests, copied, records] = await Promise.all([
    opts.manifests ??
      source.listManifests((name, e) => ctx.logger.warn({ event: 'manifest.damaged', object: name, error: e.message }, 'damaged manifest not copied')),
    objectNames(dest, 'snapshots'),
    missingRecords(source, dest),
  ]);
  const wanted = selectBackups(manifests, opts.ids, opts.withParents ?? true);
  const present = new Set(copied.map((n) => n.replace(/^snapshots\//, '').replace(/\.json$/, '')));
  const todo = wanted.filter((m) => !present.has(m.id));
  const work: CopyWork = {
    copied: [],
    already_there: wanted.length - todo.length,
    skipped: [],
    records_copied: 0,
    packs_copied: 0,
    packs_present: 0,
    bytes_copied: 0,
  };
  if (todo.length === 0 && records.length === 0) return work;

  await Promise.all([source.loadIndex(), dest.loadIndex()]);
  const need = new Set<string>();
  const complete = await completeBackups(source, todo, need, work.skipped);
  if (records.length > 0) {
    for (const id of await pgArchiveBlobs(source)) need.add(id);
    for (const id of await binlogArchiveBlobs(source)) need.add(id);
    for (const id of await physicalBaseBlobs(source)) need.add(id);
  }
  const packs = new Set<string>();
  for (const id of need) {
    if (dest.index.hasHex(id)) continue;
    const loc = source.index.get(id);
    if (loc) packs.add(loc.pack);
  }
  const reseal = target.passwordFile !== undefined;
  // packs move as they are (the copy shares the primary's keys) unless the copy has a key of its own
  const destPacks = reseal ? new Set<string>() : new Set(await dest.listPacks());
  const upload = [...packs].filter((p) => !destPacks.has(p));
  work.packs_present = packs.size - upload.length;
  const sizes = await source.listPackSizes();
  progress({ kind: 'start', totalFiles: upload.length, totalBytes: upload.reduce((n, p) => n + (sizes.get(p) ?? 0), 0) });
  const moved = (bytes: number): void => {
    work.packs_copied++;
    work.bytes_copied += bytes;
    progress({ kind: 'advance', files: 1, bytes });
  };
  const entriesOf = packEntries(source, packs);
  const compressor = new FrameCompressor({ ...ctx.config.backup.compression, level: ctx.config.backup.compression.level ?? 3 });
  // a pack is read into one of a few buffers, reused: memory stays at PACKS_AT_ONCE packs
  const buffers: ReadBuffer[] = [];
  // a batch of packs, then the index file naming them: an interrupted copy keeps what it moved
  for (let i = 0; i < upload.length; i += PACKS_PER_INDEX) {
    stopIfAborted(opts.signal);
    const batch = upload.slice(i, i + PACKS_PER_INDEX);
    if (reseal) await dest.writeIndex(await resealPacks(source, dest, batch, compressor, moved));
    else {
      await fetchInOrder(batch, PACKS_AT_ONCE, async (pack) => {
        stopIfAborted(opts.signal);
        const buffer = buffers.pop() ?? { buffer: Buffer.alloc(0) };
        try {
          moved(await copyPack(source, dest, pack, buffer));
        } finally {
          buffers.push(buffer);
        }
      });
      await dest.writeIndex(batch.flatMap((p) => entriesOf.get(p) ?? []).filter((e) => !dest.index.hasHex(e.id)));
    }
  }
  progress({ kind: 'finish' });
  // packs an interrupted run moved as they are before it could write their index
  if (!reseal) await dest.writeIndex([...entriesOf.values()].flat().filter((e) => !dest.index.hasHex(e.id)));
  stopIfAborted(opts.signal);
  for (const name of records) {
    try {
      if (await copyRecord(source, dest, name)) work.records_copied++;
    } catch (e) {
      if (!(e instanceof PrismError)) throw e;
      work.skipped.push({ id: name, reason: e.message });
    }
  }
  for (const m of complete) if (await dest.createManifest(m)) work.copied.push(m.id);
  return work;
}

/**
 * The backups to copy, oldest first: the ones asked for and (`withParents`) every backup they
 * build on (so a chain stays whole in the copy), or all of them. Only backups with data count: failed and
 * running attempts are not copied.
 */
export function selectBackups(all: readonly Manifest[], ids: readonly string[] | undefined, withParents = true): Manifest[] {
  const usable = all.filter((m) => m.status === 'completed' || m.status === 'partial');
  if (!ids || ids.length === 0) return usable;
  const byId = new Map(usable.map((m) => [m.id, m]));
  const pick = new Set<string>();
  for (const id of ids) {
    let m = byId.get(id);
    if (!m) {
      const any = all.find((x) => x.id === id);
      throw new PrismError(
        'BACKUP_NOT_FOUND',
        any ? `Backup ${id} is ${any.status}: only completed and partial backups are copied.` : `Backup ${id} not found in the primary repository.`,
        { id },
      );
    }
    while (m && !pick.has(m.id)) {
      pick.add(m.id);
      m = m.parent && withParents ? byId.get(m.parent) : undefined;
    }
  }
  return usable.filter((m) => pick.has(m.id));
}

/**
 * Adds to `need` every blob of the backups' trees and returns the backups whose every blob the
 * primary holds; the others go to `skipped` (their data was lost in the primary).
 */
async function completeBackups(source: Repository, backups: readonly Manifest[], need: Set<string>, skipped: CopyReport['skipped']): Promise<Manifest[]> {
  const treeOk = new Map<string, boolean>();
  const visit = async (tree: string): Promise<boolean> => {
    const known = treeOk.get(tree);
    if (known !== undefined) return known;
    let ok = source.index.hasHex(tree);
    need.add(tree);
    const nodes = ok
      ? await source.readTree(tree).then(
          (t) => t.nodes,
          () => undefined,
        )
      : undefined;
    if (!nodes) ok = false;
    else {
      for (const node of nodes) {
        if (node.subtree && !(await visit(node.subtree))) ok = false;
        for (const c of node.content ?? []) {
          need.add(c);
          if (!source.index.hasHex(c)) ok = false;
        }
      }
    }
    treeOk.set(tree, ok);
    return ok;
  };
  const out: Manifest[] = [];
  for (const m of backups) {
    let ok = true;
    for (const t of rootTrees(m)) if (!(await visit(t))) ok = false;
    if (ok) out.push(m);
    else skipped.push({ id: m.id, reason: 'data of this backup is missing in the primary repository (run `prism backup verify` there)' });
  }
  return out;
}

/** The primary's index entries of each of `packs`. */
function packEntries(source: Repository, packs: ReadonlySet<string>): Map<string, IndexedBlob[]> {
  const out = new Map<string, IndexedBlob[]>();
  for (const e of source.index.entries()) if (packs.has(e.pack)) (out.get(e.pack) ?? out.set(e.pack, []).get(e.pack)!).push(e);
  return out;
}

function stopIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PrismError('INTERRUPTED', 'Copy stopped; what it copied so far stays in the copy and the next run goes on from there.');
}

/** Archive records (PostgreSQL WAL and base backups, binary logs, MariaDB physical base backups) the primary has and the copy lacks. */
async function missingRecords(source: Repository, dest: Repository): Promise<string[]> {
  const dirs = await Promise.all(
    [WAL_RECORDS, BASE_RECORDS, RESTORE_POINT_RECORDS, BINLOG_RECORDS, MYSQL_BASE_RECORDS].map(async (dir) => {
      const names = (await objectNames(source, dir)).filter((n) => n.endsWith('.json'));
      if (names.length === 0) return [];
      const have = new Set(await objectNames(dest, dir));
      return names.filter((n) => !have.has(n));
    }),
  );
  return dirs.flat();
}
