import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { PrismError } from '../errors/index.js';
import type { Manifest, Repository, TreeNode } from '../repo/index.js';

/** The stored objects (schema, tables) of one database of a backup, by object name. */
export async function dbObjects(repo: Repository, m: Manifest, db: string): Promise<Map<string, TreeNode>> {
  if (!m.db_tree) throw new PrismError('INVALID_ARGUMENT', `Backup ${m.id} holds no databases.`, { id: m.id });
  await repo.loadIndex();
  const dir = (await repo.readTree(m.db_tree)).nodes.find((n) => n.name === db && n.type === 'dir');
  if (!dir?.subtree)
    throw new PrismError('REPO_CORRUPT', `Backup ${m.id} names database ${db} but its tree has no directory for it.`, { id: m.id, database: db });
  return new Map((await repo.readTree(dir.subtree)).nodes.map((n) => [n.name, n]));
}

/**
 * An object's bytes as a stream, every chunk re-hashed as it is read (a damaged chunk fails the
 * stream with CHECKSUM_MISMATCH); `sha256()` is the whole object's SHA-256 (hex) once it has ended.
 */
export function readDbObject(repo: Repository, node: TreeNode): { stream: Readable; sha256(): string | undefined } {
  const content = node.content ?? [];
  const hash = createHash('sha256');
  let digest: string | undefined;
  const stream = Readable.from(
    (async function* () {
      for (const id of content) {
        const data = Buffer.from(await repo.readBlob(id));
        hash.update(data);
        yield data;
      }
      digest = hash.digest('hex');
    })(),
    { objectMode: false },
  );
  return { stream, sha256: () => digest };
}

export async function readDbObjectText(repo: Repository, node: TreeNode): Promise<string> {
  const parts: Buffer[] = [];
  for (const id of node.content ?? []) parts.push(Buffer.from(await repo.readBlob(id)));
  return Buffer.concat(parts).toString('utf8');
}
