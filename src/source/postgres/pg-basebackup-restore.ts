import { spawn } from 'node:child_process';
import { appendFileSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PrismError } from '../../errors/index.js';

/** The data directory of a cluster to be recovered: new, or an existing empty directory (mode 0700). */
export function prepareDataDir(dir: string): void {
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new PrismError('INVALID_ARGUMENT', `--data-dir ${dir} exists and is not a directory.`, { path: dir });
    if (readdirSync(dir).length > 0)
      throw new PrismError(
        'INVALID_ARGUMENT',
        `--data-dir ${dir} is not empty; a point-in-time restore writes a whole cluster and needs an empty or new directory.`,
        { path: dir },
      );
  } else mkdirSync(dir, { recursive: true, mode: 0o700 });
}

/** Unpacks a base backup tar into `dir` with the system tar (owners kept when run as root). */
export async function extractBaseBackup(dir: string, data: AsyncIterable<Buffer>): Promise<void> {
  const child = spawn('tar', ['-x', '-f', '-', '-C', dir], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString('utf8');
  });
  child.stdin.on('error', () => {});
  const closed = new Promise<number>((resolve, reject) => {
    child.on('error', (e) => reject(new PrismError('PG_ARCHIVE_FAILED', `Cannot run tar: ${e.message}.`)));
    child.on('close', (c) => resolve(c ?? 1));
  });
  try {
    for await (const chunk of data) {
      if (!child.stdin.write(chunk)) await Promise.race([new Promise((r) => child.stdin.once('drain', r)), closed]);
      if (child.exitCode !== null) break;
    }
  } catch (e) {
    child.kill('SIGTERM');
    throw e;
  } finally {
    child.stdin.end();
  }
  const code = await closed;
  if (code !== 0)
    throw new PrismError('PG_ARCHIVE_FAILED', `Unpacking the base backup into ${dir} failed: ${stderr.trim() || `tar exited with ${code}`}.`, { path: dir });
}

export interface RecoverySettings {
  restoreCommand: string;
  targetTime: Date;
  comment: string;
}

/** recovery.signal plus restore_command and the recovery target in postgresql.auto.conf. */
export function writeRecoverySettings(dir: string, s: RecoverySettings): void {
  const q = (v: string) => `'${v.replace(/'/g, "''")}'`;
  appendFileSync(
    join(dir, 'postgresql.auto.conf'),
    `\n# ${s.comment}\nrestore_command = ${q(s.restoreCommand)}\nrecovery_target_time = ${q(pgTimestamp(s.targetTime))}\nrecovery_target_action = 'promote'\n`,
    { mode: 0o600 },
  );
  writeFileSync(join(dir, 'recovery.signal'), '', { mode: 0o600 });
}

/** "2026-12-01 18:30:00.123+00": a timestamptz PostgreSQL reads the same in any time zone. */
export function pgTimestamp(d: Date): string {
  return d.toISOString().replace('T', ' ').replace('Z', '+00');
}

/** As root: gives the directory and prism's files the owner of the cluster's files (PG_VERSION). */
export function matchDataDirOwner(dir: string): void {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = lstatSync(join(dir, 'PG_VERSION'));
  for (const p of [dir, join(dir, 'postgresql.auto.conf'), join(dir, 'recovery.signal')]) if (existsSync(p)) chownSync(p, uid, gid);
}
