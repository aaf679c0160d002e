import type { Manifest, Repository } from '../../repo/index.js';
import type { AppContext } from '../context.js';
import { recordRepositoryEvent } from '../monitoring/events.js';

/** A manifest file that cannot be read: its backup can be neither checked nor restored. */
export interface DamagedManifest {
  name: string;
  message: string;
}

/** The backups a check reads (those holding data, neither failed nor running); manifests that cannot be read go to `damaged`. */
export async function checkableBackups(repo: Repository, damaged: DamagedManifest[]): Promise<Manifest[]> {
  return (await repo.listManifests((name, e) => damaged.push({ name, message: e.message }))).filter(
    (m) => m.tree !== null && m.status !== 'failed' && m.status !== 'running',
  );
}

/** A high-severity `verify.failed` event for each damaged manifest, for alerting. */
export function recordDamagedManifests(ctx: AppContext, damaged: readonly DamagedManifest[]): void {
  for (const d of damaged)
    recordRepositoryEvent(ctx, { time: ctx.clock.now().toISOString(), severity: 'high', event: 'verify.failed', manifest: d.name, message: d.message });
}
