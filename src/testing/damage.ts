/** Test helpers that damage a repository on purpose and read what prism recorded about it. */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LocalBackend } from '../backend/index.js';
import { FixedClock } from '../core/clock.js';
import { BLOB_TYPE, Repository, type IndexedBlob, type Manifest } from '../repo/index.js';
import { passwordOf } from './encrypted.js';
import type { Sandbox } from './fixtures.js';

/** The sandbox's repository with its index loaded (an encrypted one opened with `password`). */
export async function openRepo(sb: Sandbox, password?: string): Promise<Repository> {
  const repo = await Repository.open(new LocalBackend(sb.repo), new FixedClock(new Date()), password === undefined ? {} : { password: passwordOf(password) });
  await repo.loadIndex();
  return repo;
}

/** path → index entries of the file's chunks, for every file of a backup (trees read, no file data). */
export async function chunkMap(repo: Repository, tree: string, prefix = '', out = new Map<string, IndexedBlob[]>()): Promise<Map<string, IndexedBlob[]>> {
  for (const n of (await repo.readTree(tree)).nodes) {
    const p = prefix ? `${prefix}/${n.name}` : n.name;
    if (n.type === 'dir') await chunkMap(repo, n.subtree!, p, out);
    else if (n.type === 'file')
      out.set(
        p,
        (n.content ?? []).map((id) => repo.index.get(id)!),
      );
  }
  return out;
}

export const packFile = (sb: Sandbox, pack: string): string => join(sb.repo, 'data', pack.slice(0, 2), pack);

/**
 * Flips one byte in the middle of a compression frame that holds only one chunk of `path`
 * (never a tree, never the trailer). Returns every file of `m` that contains that chunk, sorted.
 */
export async function flipByteOf(sb: Sandbox, m: Manifest, path: string, password?: string): Promise<string[]> {
  return (await flipChunkOf(sb, m, path, password)).files;
}

/** flipByteOf, also returning the damaged chunk's index entry. */
export async function flipChunkOf(sb: Sandbox, m: Manifest, path: string, password?: string): Promise<{ files: string[]; chunk: IndexedBlob }> {
  const repo = await openRepo(sb, password);
  const files = await chunkMap(repo, m.tree!);
  const entries = [...repo.index.entries()];
  const target = files.get(path)!.find((c) => entries.filter((e) => e.pack === c.pack && e.frameOffset === c.frameOffset).length === 1);
  assert.ok(target, `${path} has a chunk in a frame of its own`);
  const file = packFile(sb, target.pack);
  const buf = readFileSync(file);
  const trailerStart = buf.length - 12 - buf.readUInt32LE(buf.length - 12);
  const at = target.frameOffset + (target.frameLength >> 1);
  assert.ok(at > 8 && at < trailerStart, 'the flipped byte is inside a frame, before the trailer');
  buf[at] = buf[at]! ^ 0xff;
  writeFileSync(file, buf);
  return {
    files: [...files]
      .filter(([, cs]) => cs.some((c) => c.id === target.id))
      .map(([p]) => p)
      .sort(),
    chunk: target,
  };
}

/** Deletes the pack holding the first chunk of `path` (asserting it holds no tree); returns the files that lose data, sorted. */
export async function deletePackOf(sb: Sandbox, m: Manifest, path: string, password?: string): Promise<string[]> {
  const repo = await openRepo(sb, password);
  const files = await chunkMap(repo, m.tree!);
  const pack = files.get(path)![0]!.pack;
  assert.ok(
    [...repo.index.entries()].filter((e) => e.pack === pack).every((e) => e.type === BLOB_TYPE.data),
    'the pack holds file data only (its loss leaves the trees readable)',
  );
  rmSync(packFile(sb, pack));
  return [...files]
    .filter(([, cs]) => cs.some((c) => c.pack === pack))
    .map(([p]) => p)
    .sort();
}

/** The lines of $PRISM_HOME/logs/events.log. */
export function events(sb: Sandbox): Array<Record<string, unknown>> {
  let text: string;
  try {
    text = readFileSync(join(sb.home, 'logs', 'events.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Every pack id of the repository, sorted. */
export function packIds(sb: Sandbox): string[] {
  return readdirSync(join(sb.repo, 'data'), { recursive: true })
    .map(String)
    .filter((n) => n.includes('/'))
    .map((n) => n.slice(3))
    .sort();
}

/** Flips one byte of a pack outside its frames: in its header magic, in the middle of its trailer, or its last byte (end magic). */
export function flipPackByte(sb: Sandbox, pack: string, where: 'magic' | 'trailer' | 'last'): void {
  const file = packFile(sb, pack);
  const buf = readFileSync(file);
  const trailerLength = buf.readUInt32LE(buf.length - 12);
  const at = where === 'magic' ? 3 : where === 'last' ? buf.length - 1 : buf.length - 12 - (trailerLength >> 1);
  buf[at] = buf[at]! ^ 0xff;
  writeFileSync(file, buf);
}
