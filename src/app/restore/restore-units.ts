import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PRISM_RUNTIME_NAMES, isRestoreWorkName } from '../../core/reserved-names.js';
import { PrismError } from '../../errors/index.js';
import type { Manifest, Repository } from '../../repo/index.js';
import { findNode, walkTree } from '../../snapshot/tree-walk.js';
import { blockerBelow } from '../../source/fs/path-below.js';

/** Where a restore goes and what it was asked to restore (paths normalised, empty ones dropped). */
export interface UnitChoice {
  target: string;
  live: boolean;
  /** backup.sources.include of the config. */
  configured: readonly string[];
  include: readonly string[];
  exclude: readonly string[];
  select: (p: string) => boolean;
}

/**
 * The units (paths of the backup) a restore replaces whole, and the top-level entries it leaves as
 * they are: the --include paths, or else every top-level entry. Refuses an --include the backup
 * lacks, prism's own names, and units or kept --exclude paths that lie behind a symlink or file.
 */
export async function restoreUnits(repo: Repository, m: Manifest, c: UnitChoice): Promise<{ units: string[]; untouched: string[] }> {
  for (const p of c.include) {
    if (!(await findNode(repo, m.tree!, p)))
      throw new PrismError('INVALID_ARGUMENT', `--include "${p}" is not in backup ${m.id}; \`prism backup ls ${m.id}\` lists what it holds.`);
  }
  const explicit = c.include.length > 0;
  const all = explicit ? [...c.include] : await topLevel(repo, m, c.target, c.live, c.configured);
  const chosen = keepOwnNames(m, all, explicit, c.live, c.select);
  await checkExcludes(repo, m, c.target, c.live, chosen.units, c.exclude);
  return chosen;
}

/** Top-level entries of the backup; for the live data directory also configured folders the backup lacks (they go). */
async function topLevel(repo: Repository, m: Manifest, target: string, live: boolean, configured: readonly string[]): Promise<string[]> {
  const names: string[] = [];
  for await (const e of walkTree(repo, m.tree!, '', { recursive: false })) names.push(e.path); // refuses unsafe names
  if (live) for (const c of configured) if (!names.includes(c) && existsSync(join(target, c))) names.push(c);
  return names;
}

/**
 * The units a restore may touch. prism's working names (`.prism-restore…`) are never restored: a
 * backup holding one is refused unless it is excluded. Into the live data directory prism's own
 * files (logs/ …) are left as they are.
 */
function keepOwnNames(m: Manifest, all: string[], explicit: boolean, live: boolean, select: (p: string) => boolean): { units: string[]; untouched: string[] } {
  const top = (u: string) => u.split('/')[0]!;
  const reserved = all.filter((u) => isRestoreWorkName(top(u)) && select(u));
  if (reserved.length > 0) {
    throw new PrismError(
      'RESTORE_PATH_REFUSED',
      `Backup ${m.id} holds ${reserved.map((u) => JSON.stringify(u)).join(', ')}: names starting with ".prism-restore" are prism's own working files in a restore target and are never restored. Restore the rest with ${reserved.map((u) => `--exclude ${u}`).join(' ')}.`,
      { paths: reserved },
    );
  }
  const own = live ? all.filter((u) => PRISM_RUNTIME_NAMES.includes(top(u))) : [];
  if (explicit && own.length > 0) {
    throw new PrismError(
      'RESTORE_PATH_REFUSED',
      `${own.join(', ')} in the live data directory belong to prism and are never restored over; restore them into another --target.`,
      { paths: own },
    );
  }
  return { units: all.filter((u) => !isRestoreWorkName(top(u)) && !own.includes(u)), untouched: own };
}

/**
 * No unit lies behind a symlink in the target. An excluded path stays where it is, so every
 * folder above it must be a real directory both in the backup and in the target: below a symlink
 * it could not be kept in place, and moving it would follow the link out of the target.
 */
async function checkExcludes(repo: Repository, m: Manifest, target: string, live: boolean, units: string[], exclude: readonly string[]): Promise<void> {
  const where = live ? 'the data directory' : 'the target directory';
  for (const u of units) {
    const b = blockerBelow(target, u);
    if (b)
      throw new PrismError(
        'RESTORE_PATH_REFUSED',
        `${b.path} is a ${b.kind} in ${where} (${target}), so ${u} cannot be restored below it. Restore ${b.path} itself, or into another --target.`,
        { path: b.path },
      );
  }
  for (const e of exclude) {
    if (!units.some((u) => e.startsWith(`${u}/`))) continue;
    const parts = e.split('/');
    for (let i = 1; i < parts.length; i++) {
      const above = parts.slice(0, i).join('/');
      const node = await findNode(repo, m.tree!, above);
      if (node && node.type !== 'dir') {
        throw new PrismError(
          'RESTORE_PATH_REFUSED',
          `${above} is a ${node.type} in backup ${m.id}, so --exclude ${e} below it cannot be kept in place. Exclude ${above} to keep what is there now, or drop the --exclude.`,
          { exclude: e, path: above },
        );
      }
    }
    const b = blockerBelow(target, e);
    if (b) {
      throw new PrismError(
        'RESTORE_PATH_REFUSED',
        `${b.path} is a ${b.kind} in ${where} (${target}), so --exclude ${e} lies outside it. Exclude ${b.path} to keep it as it is, or drop the --exclude.`,
        { exclude: e, path: b.path },
      );
    }
  }
}
