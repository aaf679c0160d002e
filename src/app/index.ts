export { backupId, uniqueBackupId } from './backup-id.js';
export { BACKUP_ID_PATTERN, backupInfo } from './backup-info.js';
export { backupStats, type BackupStats } from './backup-stats.js';
export { openRepository, repoBackend, type AppContext } from './context.js';
export { createBackup, type CreateBackupOptions } from './create-backup.js';
export { defaultConfigFile, initHome, type InitResult } from './init-home.js';
export { listBackups, type ListFilter } from './list-backups.js';
export type { Manifest, ManifestStats } from '../repo/index.js';
