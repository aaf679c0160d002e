export const BACKUP_TYPES = ['full', 'incremental'] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];

export type BackupStatus = 'running' | 'completed' | 'partial' | 'failed' | 'corrupted';
export type BackupTrigger = 'manual' | 'scheduled';

export function isBackupType(s: string): s is BackupType {
  return (BACKUP_TYPES as readonly string[]).includes(s);
}
