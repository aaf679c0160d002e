import { PrismError } from '../../errors/index.js';
import type { Manifest, Repository } from '../../repo/index.js';
import { walkTree } from '../../snapshot/tree-walk.js';
import { openRepository, type AppContext } from '../context.js';
import { BACKUP_ID_PATTERN } from './backup-info.js';

export interface ChainReport {
  target: string;
  chain: Array<{ id: string; type: string; status: string; started_at: string }>;
  /** Set when an ancestor has been deleted: the chain starts at the oldest one still present. */
  broken_at: string | null;
}

export interface DependencyReport {
  id: string;
  type: string;
  dependants: Array<{ id: string; type: string; status: string; shared_bytes: number; shared_percent: number }>;
  warning: string | null;
}

async function all(ctx: AppContext): Promise<{ repo: Repository; byId: Map<string, Manifest> }> {
  const repo = await openRepository(ctx);
  const byId = new Map((await repo.listManifests()).map((m) => [m.id, m]));
  return { repo, byId };
}

function find(byId: Map<string, Manifest>, id: string): Manifest {
  const m = byId.get(id);
  if (!m)
    throw new PrismError(
      'BACKUP_NOT_FOUND',
      BACKUP_ID_PATTERN.test(id)
        ? `Backup ${id} not found; run \`prism backup list\`.`
        : `"${id}" is not a backup id (ids look like backup_20260207_020015_full).`,
      { id },
    );
  return m;
}

/** full_backup_id -> inc1 -> inc2 -> target, by parent links. */
export async function backupChain(ctx: AppContext, id: string): Promise<ChainReport> {
  const { byId } = await all(ctx);
  let m: Manifest | undefined = find(byId, id);
  const chain: Manifest[] = [];
  let broken: string | null = null;
  const seen = new Set<string>();
  while (m && !seen.has(m.id)) {
    seen.add(m.id);
    chain.unshift(m);
    if (!m.parent) break;
    const parent = byId.get(m.parent);
    if (!parent) broken = m.parent;
    m = parent;
  }
  return { target: id, chain: chain.map((c) => ({ id: c.id, type: c.type, status: c.status, started_at: c.started_at })), broken_at: broken };
}

/** Backups whose lineage passes through `id`, with the data they share with it. */
export async function backupDependencies(ctx: AppContext, id: string): Promise<DependencyReport> {
  const { repo, byId } = await all(ctx);
  const m = find(byId, id);
  const children = new Map<string, Manifest[]>();
  for (const x of byId.values()) if (x.parent && x.tree) children.set(x.parent, [...(children.get(x.parent) ?? []), x]);
  const dependants: Manifest[] = [];
  const queue = [...(children.get(id) ?? [])];
  while (queue.length > 0) {
    const d = queue.shift()!;
    dependants.push(d);
    queue.push(...(children.get(d.id) ?? []));
  }
  await repo.loadIndex();
  const own = m.tree ? await chunkSizes(repo, m.tree) : new Map<string, number>();
  const ownBytes = [...own.values()].reduce((s, b) => s + b, 0);
  const out: DependencyReport['dependants'] = [];
  for (const d of dependants) {
    let shared = 0;
    if (d.tree) for (const [c, size] of await chunkSizes(repo, d.tree)) if (own.has(c)) shared += size;
    out.push({ id: d.id, type: d.type, status: d.status, shared_bytes: shared, shared_percent: ownBytes > 0 ? (shared / ownBytes) * 100 : 0 });
  }
  const warning =
    m.type === 'full' && out.length > 0
      ? `WARNING: ${out.length} backup(s) depend on this full backup (SOP 4.2: do not delete a full backup that incremental backups depend on). In prism every backup is a complete snapshot, so their data stays intact if it is deleted; only their chain would start later.`
      : null;
  return { id, type: m.type, dependants: out, warning };
}

async function chunkSizes(repo: Repository, tree: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for await (const { node } of walkTree(repo, tree)) for (const c of node.content ?? []) if (!out.has(c)) out.set(c, repo.index.get(c)?.blobLength ?? 0);
  return out;
}
