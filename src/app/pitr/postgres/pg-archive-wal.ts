import { createHash } from 'node:crypto';
import { createReadStream, promises as fsp } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { PrismError, fromSystemError, isPrismError } from '../../../errors/index.js';
import type { Repository } from '../../../repo/index.js';
import { checkWalName, isSegmentName, isSegmentSize } from '../../../source/postgres/pg-wal-name.js';
import { lockRepository, openRepository, type AppContext } from '../../context.js';
import { compressionSettings } from '../../backups/create-backup.js';
import { readStream, storeStream } from '../blob-store.js';
import { listBaseRecords, listWalRecords, putWalRecord, readWalRecord, type BaseRecord, type WalRecord } from './pg-records.js';

/** archive-wal and restore-wal run for every segment: they wait only briefly for a prune's exclusive lock. */
const LOCK_WAIT_MS = 10_000;

export interface ArchiveWalResult {
  name: string;
  size: number;
  stored: 'new' | 'already archived';
  new_bytes: number;
}

/**
 * `archive_command = 'prism pg archive-wal %p'`: stores one WAL file (read whole from `path`,
 * relative to the server's data directory) in the repository. The record that makes it visible
 * is written last, after its chunks and index, so the archive never holds part of a segment.
 * The same file archived again succeeds; a different file under an archived name is refused.
 */
export async function archiveWal(ctx: AppContext, path: string): Promise<ArchiveWalResult> {
  const name = basename(path);
  checkWalName(name);
  let size: number;
  try {
    size = (await fsp.stat(path)).size;
  } catch (e) {
    throw new PrismError('PG_ARCHIVE_FAILED', `Cannot read WAL file ${path}: ${(e as Error).message}.`, { path });
  }
  if (isSegmentName(name) && !isSegmentSize(size)) {
    throw new PrismError('PG_ARCHIVE_FAILED', `${path} has ${size} bytes, which is not a whole WAL segment; not archived.`, { path, size });
  }
  const repo = await openRepository(ctx, { create: true });
  const lock = await lockRepository(ctx, repo, 'shared', `prism pg archive-wal ${name}`, LOCK_WAIT_MS);
  try {
    const existing = await readWalRecord(repo, name);
    if (existing) return { name, size, stored: 'already archived', new_bytes: same(existing, await fileSha(path), name) };
    const stored = await storeStream(repo, createReadStream(path), compressionSettings(ctx));
    if (stored.size !== size)
      throw new PrismError('PG_ARCHIVE_FAILED', `${path} changed size while it was read (${size} → ${stored.size} bytes); not archived.`, { path });
    const record: WalRecord = { format: 1, name, size, sha256: stored.sha256, content: stored.content, archived_at: ctx.clock.now().toISOString() };
    if (!(await putWalRecord(repo, record))) same((await readWalRecord(repo, name))!, stored.sha256, name); // archived meanwhile by another run
    ctx.logger.info({ event: 'pg.wal.archived', name, size, new_bytes: stored.newBytes }, `archived ${name}`);
    return { name, size, stored: 'new', new_bytes: stored.newBytes };
  } catch (e) {
    throw asArchiveError(e, `archiving ${name}`);
  } finally {
    await lock.release().catch(() => {});
  }
}

function same(existing: WalRecord, sha: string, name: string): number {
  if (existing.sha256 !== sha) {
    throw new PrismError(
      'PG_ARCHIVE_FAILED',
      `${name} is already archived with different content; refusing to replace it (two clusters archiving into one repository?).`,
      { name },
    );
  }
  return 0;
}

async function fileSha(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * `restore_command = 'prism pg restore-wal %f %p'`: writes an archived file to `path` (via a
 * temporary name, so PostgreSQL never sees part of it). Absent: PG_ARCHIVE_FAILED, a non-zero
 * exit, which is how PostgreSQL learns it has reached the end of the archive.
 */
export async function restoreWal(ctx: AppContext, name: string, path: string): Promise<{ name: string; size: number }> {
  checkWalName(name);
  const repo = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', `prism pg restore-wal ${name}`, LOCK_WAIT_MS);
  const temp = join(dirname(resolve(path)), `.${basename(path)}.prism-${process.pid}`);
  try {
    const record = await readWalRecord(repo, name);
    if (!record) throw new PrismError('PG_ARCHIVE_FAILED', `${name} is not in the WAL archive at ${ctx.config.storagePath}.`, { name, absent: true });
    const fh = await fsp.open(temp, 'w', 0o600);
    try {
      for await (const chunk of readStream(repo, record.content, record.sha256)) await fh.write(chunk);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(temp, path);
    return { name, size: record.size };
  } catch (e) {
    await fsp.rm(temp, { force: true }).catch(() => {});
    throw asArchiveError(e, `restoring ${name}`);
  } finally {
    await lock.release().catch(() => {});
  }
}

export interface WalListReport {
  repository: string;
  base_backups: Array<Omit<BaseRecord, 'content' | 'label'> & { chunks: number }>;
  wal: Array<Omit<WalRecord, 'content'>>;
}

export async function listWal(ctx: AppContext): Promise<WalListReport> {
  const repo: Repository = await openRepository(ctx);
  const lock = await lockRepository(ctx, repo, 'shared', 'prism pg wal list', LOCK_WAIT_MS);
  try {
    const bases = await listBaseRecords(repo);
    const wal = await listWalRecords(repo);
    return {
      repository: ctx.config.storagePath,
      base_backups: bases.map(({ content, label: _label, ...rest }) => ({ ...rest, chunks: content.length })),
      wal: wal.map(({ content: _c, ...rest }) => rest),
    };
  } finally {
    await lock.release().catch(() => {});
  }
}

export function asArchiveError(e: unknown, what: string): PrismError {
  const mapped = fromSystemError(e, what);
  if (isPrismError(mapped)) return mapped;
  return new PrismError('PG_ARCHIVE_FAILED', `Failed ${what}: ${(e as Error)?.message ?? String(e)}`);
}
