export { backupId, uniqueBackupId } from './backups/backup-id.js';
export { BACKUP_ID_PATTERN, backupInfo } from './backups/backup-info.js';
export { backupStats, type BackupStats } from './backups/backup-stats.js';
export { lockRepository, openRepository, type AppContext } from './context.js';
export { createBackup, type CreateBackupOptions } from './backups/create-backup.js';
export { defaultConfigFile, initHome, type InitResult } from './backups/init-home.js';
export { listBackups, type ListFilter } from './backups/list-backups.js';
export type { Manifest, ManifestStats } from '../repo/index.js';
export { restoreBackup, type RestoreOptions, type RestoreResult } from './restore/restore-backup.js';
export { resolveBackup } from './backups/resolve-backup.js';
export { pidFile, pidInFile, processAlive, runningServicePid } from './monitoring/service-state.js';
export { eventsFile, recordEvent, type PrismEvent } from './monitoring/events.js';
export { verifyBackups, type BinlogArchiveCheck, type PgArchiveCheck, type VerifyOptions, type VerifyReport } from './integrity/verify-backups.js';
export type { DataSubset } from '../snapshot/checker.js';
export { diffBackups, dumpFile, listBackupPath, type DiffReport, type LsEntry } from './backups/browse-backup.js';
export { backupChain, backupDependencies, type ChainReport, type DependencyReport } from './backups/lineage.js';
export { checkDataHealth, type HealthIssue, type HealthReport } from './integrity/health-check.js';
export { backupFailures, failuresIn, type FailureEntry, type FailuresReport } from './backups/failures.js';
export { pruneLocked, referencedBlobs, type PruneOptions, type PruneReport } from './maintenance/prune-repository.js';
export {
  cleanupBackups,
  deleteBackup,
  policyReport,
  retentionPolicy,
  FAILURE_WINDOW_DAYS,
  type CleanupReport,
  type DeleteReport,
  type PolicyReport,
} from './maintenance/retention.js';
export { pruneRepository } from './maintenance/prune-command.js';
export { readTasks, recordTask, taskLogFile, type TaskRecord, type TaskStatus, type TaskTrigger } from './monitoring/task-log.js';
export { drillLogFile, readDrills, recordDrill, type DrillRecord } from './integrity/drill-history.js';
export { activeAlerts, evaluateAlerts, savedAlerts, type AlertsReport, type DeliveryReport } from './monitoring/alerts.js';
export { alertsFile, type Alert, type AlertTarget, type NotificationKind } from './monitoring/alert-state.js';
export { backupHealth, type BackupHealth } from './monitoring/backup-health.js';
export type { AlertSeverity } from '../policy/alert-rules.js';
export type { HealthIndicator } from '../policy/health-indicators.js';
export { repositorySpace, type RepositorySpace } from './maintenance/repository-space.js';
export { importData, type ImportOptions, type ImportReport } from './databases/import-data.js';
export { archiveWal, listWal, restoreWal, type ArchiveWalResult, type WalListReport } from './pitr/postgres/pg-archive-wal.js';
export { takeBaseBackup } from './pitr/postgres/pg-basebackup.js';
export { expirePgArchive, type PgExpireReport } from './pitr/postgres/pg-expire.js';
export { expireBinlogArchive, type BinlogExpireReport } from './pitr/mysql/mysql-expire.js';
export type { MysqlExpireReport } from './pitr/mysql/mysql-physical-expire.js';
export { archiveBinlogs, listBinlogs, type ArchiveBinlogReport, type BinlogListReport } from './pitr/mysql/mysql-archive-binlog.js';
export { restorePointInTime, shellQuote, type PgRestoreOptions, type PgRestoreReport } from './pitr/postgres/pg-restore.js';
export { backgroundVerify, type BackgroundVerifyOptions, type BackgroundVerifyReport } from './integrity/background-verify.js';
export { runDrill, type DrillOptions } from './integrity/drill.js';
export { recordedCopies, copyStatuses, type CopyStatus } from './copies/copy-status.js';
export { readCopyState, copyStateFile, type CopyRunState } from './copies/copy-state.js';
