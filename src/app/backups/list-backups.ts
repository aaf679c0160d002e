import type { BackupType } from '../../core/types.js';
import { ERROR_CODES } from '../../errors/index.js';
import type { Manifest, ManifestCache, Repository } from '../../repo/index.js';
import { openRepository, type AppContext } from '../context.js';

export interface ListFilter {
  type?: BackupType | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  limit?: number | undefined;
  status?: Manifest['status'] | undefined;
}

/** A manifest file that cannot be read: its backup can be neither listed nor restored. */
export interface DamagedManifest {
  /** The backup id its file name gives. */
  id: string;
  status: 'damaged';
  object: string;
  error: { code: string; name: 'REPO_CORRUPT'; message: string };
}

export interface BackupListing {
  backups: Manifest[];
  /** Manifests that exist but cannot be read (listed whatever the filter). */
  damaged: DamagedManifest[];
}

export interface ListOptions {
  missing?: 'refuse' | 'empty';
  /**
   * Keep the parsed manifests of this repository in memory between calls (a long-running process
   * such as the dashboard): each call lists the snapshots and reads only new or rewritten ones.
   * The manifests returned are then shared: read them, never change them.
   */
  cached?: boolean;
}

/** Per repository location: the manifests listBackupsAndDamage read last (see ListOptions.cached). */
const caches = new Map<string, ManifestCache>();

/** The manifest cache of the context's repository (see ListOptions.cached), for the listings that take one. */
export function sharedManifestCache(ctx: AppContext): ManifestCache {
  return manifestCache(ctx.config.storagePath);
}

function manifestCache(location: string): ManifestCache {
  let c = caches.get(location);
  if (!c) caches.set(location, (c = { objects: new Map() }));
  return c;
}

/** Backups newest first, filtered. A missing repository is REPO_NOT_FOUND, or lists nothing with `missing: 'empty'` (the service before its first backup). */
export async function listBackups(ctx: AppContext, filter: ListFilter = {}, opts: ListOptions = {}): Promise<Manifest[]> {
  return (await listBackupsAndDamage(ctx, filter, opts)).backups;
}

/** listBackups, plus the manifests that cannot be read. */
export async function listBackupsAndDamage(ctx: AppContext, filter: ListFilter = {}, opts: ListOptions = {}): Promise<BackupListing> {
  const repo = await openRepository(ctx).catch((e) => {
    if (e?.code === 'REPO_NOT_FOUND' && opts.missing === 'empty') return undefined;
    throw e;
  });
  if (!repo) return { backups: [], damaged: [] };
  const damaged: DamagedManifest[] = [];
  const all = await loadAll(
    repo,
    ctx,
    (name, message) =>
      damaged.push({
        id: name.replace(/^snapshots\//, '').replace(/\.json$/, ''),
        status: 'damaged',
        object: name,
        error: { code: ERROR_CODES.REPO_CORRUPT.id, name: 'REPO_CORRUPT', message },
      }),
    opts.cached ? manifestCache(ctx.config.storagePath) : undefined,
  );
  const out = all
    .filter((m) => !filter.type || m.type === filter.type)
    .filter((m) => !filter.status || m.status === filter.status)
    .filter((m) => !filter.from || Date.parse(m.started_at) >= filter.from.getTime())
    .filter((m) => !filter.to || Date.parse(m.started_at) <= filter.to.getTime())
    .reverse();
  return { backups: filter.limit !== undefined ? out.slice(0, filter.limit) : out, damaged };
}

/** All manifests oldest first; a `running` one whose process is gone is shown as failed. Damaged manifests are skipped (and told to `onDamaged`). */
export async function loadAll(
  repo: Repository,
  ctx: AppContext,
  onDamaged: (name: string, message: string) => void = () => {},
  cache?: ManifestCache,
): Promise<Manifest[]> {
  const all = await repo.listManifests(
    (name, err) => {
      ctx.logger.warn({ event: 'manifest.damaged', object: name, error: err.message }, 'damaged manifest skipped');
      onDamaged(name, err.message);
    },
    { cache },
  );
  const held = new Map<string, boolean>();
  for (const m of all) if (m.status === 'running' && !held.has(m.host)) held.set(m.host, await repo.backupLockHeld(m.host));
  return all.map((m) => (m.status === 'running' && !held.get(m.host) ? interrupted(m) : m));
}

export function interrupted(m: Manifest): Manifest {
  return {
    ...m,
    status: 'failed',
    error: {
      code: ERROR_CODES.INTERRUPTED.id,
      name: 'INTERRUPTED',
      message: 'The backup process stopped before it finished (killed or crashed); nothing of it is visible.',
    },
  };
}
