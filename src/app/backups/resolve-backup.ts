import { PrismError } from '../../errors/index.js';
import type { Manifest, Repository } from '../../repo/index.js';
import { checkBackupId } from './backup-info.js';

/** A backup with data (completed, partial, or corrupted: read what can be read) by id, or the latest completed one at or before `at`. */
export async function resolveBackup(repo: Repository, sel: { id?: string | undefined; at?: Date | undefined }): Promise<Manifest> {
  if (sel.id !== undefined) {
    checkBackupId(sel.id);
    const m = await repo.loadManifest(sel.id);
    if (m.tree === null) {
      throw new PrismError('BACKUP_NOT_FOUND', `Backup ${m.id} is ${m.status}; it cannot be used. Choose a completed backup from \`prism backup list\`.`, {
        id: m.id,
        status: m.status,
      });
    }
    return m;
  }
  if (sel.at) {
    const all = (await repo.listManifests()).filter((m) => m.status === 'completed' && Date.parse(m.started_at) <= sel.at!.getTime());
    const m = all[all.length - 1];
    if (!m) throw new PrismError('BACKUP_NOT_FOUND', `No completed backup exists at or before ${sel.at.toISOString()}.`, { at: sel.at.toISOString() });
    return m;
  }
  throw new PrismError('INVALID_ARGUMENT', 'Name a backup id, or --at TIME for the latest backup at or before that time.');
}
