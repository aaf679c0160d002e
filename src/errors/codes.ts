/**
 * The one error registry. Each entry: a descriptive code, the SOP id where one exists,
 * the process exit code, and the fix the operator should apply.
 */
export interface ErrorSpec {
  /** SOP id (ERR_BACKUP_00x) or a prism id (ERR_PRISM_xxx). */
  readonly id: string;
  readonly exitCode: number;
  /** Short title, as the SOP names it. */
  readonly title: string;
  /** What the operator should do about it. */
  readonly fix: string;
}

export const ERROR_CODES = {
  DISK_SPACE_INSUFFICIENT: {
    id: 'ERR_BACKUP_001',
    exitCode: 11,
    title: 'Disk space insufficient',
    fix: 'Free space on the backup disk: remove expired backups with `prism backup cleanup`, or point PRISM_BACKUP_PATH / backup.storage_path at a larger disk.',
  },
  PERMISSION_DENIED: {
    id: 'ERR_BACKUP_002',
    exitCode: 12,
    title: 'Permission denied',
    fix: 'Check file permissions: the source files must be readable and the backup directory writable by the user running prism (`ls -ld ~/.prism-gateway-backups`).',
  },
  PATH_UNUSABLE: {
    id: 'ERR_PRISM_PATH',
    exitCode: 44,
    title: 'Path cannot be used',
    fix: 'Correct the path the message names (PRISM_HOME, PRISM_BACKUP_PATH / backup.storage_path, --target, --repo …): every part of it must be a directory (or not exist yet), with no symbolic link loop and no name longer than 255 bytes.',
  },
  OPEN_FILES_LIMIT: {
    id: 'ERR_PRISM_OPEN_FILES',
    exitCode: 45,
    title: 'Too many open files',
    fix: 'Raise the open-file limit of the user running prism (`ulimit -n 65536`, or LimitNOFILE= in the systemd unit), or lower backup.concurrency / PRISM_BACKUP_CONCURRENCY.',
  },
  FILE_CHANGED: {
    id: 'ERR_PRISM_FILE_CHANGED',
    exitCode: 12,
    title: 'File changed while it was read',
    fix: 'A file kept changing while prism read it, so its stored copy may mix old and new data: let the program writing it finish or pause it while the backup runs, or exclude the file (backup.sources.exclude), then run the backup again.',
  },
  SOURCE_NOT_FOUND: {
    id: 'ERR_BACKUP_003',
    exitCode: 13,
    title: 'Source directory not found',
    fix: 'Check the configured paths: PRISM_HOME and backup.sources.include in config/backup.json must name existing directories (run `prism init` to create the default layout).',
  },
  COMPRESSION_FAILED: {
    id: 'ERR_BACKUP_004',
    exitCode: 14,
    title: 'Compression failed',
    fix: 'Check backup.compression in config/backup.json (algorithm zstd or gzip, a valid level) and that the zstd binding is installed (`npm ci`).',
  },
  CHECKSUM_MISMATCH: {
    id: 'ERR_BACKUP_005',
    exitCode: 15,
    title: 'Checksum mismatch',
    fix: 'Repository data is damaged: run `prism backup verify --all` to find the affected backups, then `prism backup verify --background` (re-stores what the live files still hold, drops the damaged copies from the index) and `prism backup create --type full` so fresh copies are stored.',
  },
  INVALID_ARGUMENT: {
    id: 'ERR_PRISM_ARGS',
    exitCode: 2,
    title: 'Invalid argument',
    fix: 'Check the command line; `prism help <command>` lists the accepted flags and values.',
  },
  CONFIG_INVALID: {
    id: 'ERR_PRISM_CONFIG',
    exitCode: 3,
    title: 'Configuration invalid',
    fix: 'Correct the named key in config/backup.json (or the environment variable), or delete the file to use the defaults.',
  },
  BACKUP_NOT_FOUND: {
    id: 'ERR_PRISM_NOT_FOUND',
    exitCode: 4,
    title: 'Backup not found',
    fix: 'Run `prism backup list` to see the existing backup ids.',
  },
  NO_FULL_BACKUP: {
    id: 'ERR_PRISM_NO_FULL',
    exitCode: 5,
    title: 'No full backup to base an incremental backup on',
    fix: 'Create a full backup first: `prism backup create --type full`.',
  },
  REPO_LOCKED: {
    id: 'ERR_PRISM_LOCKED',
    exitCode: 6,
    title: 'Repository is locked',
    fix: 'Another prism process is using the repository; wait for it to finish. Locks of dead processes are removed automatically.',
  },
  REPO_NOT_FOUND: {
    id: 'ERR_PRISM_NO_REPO',
    exitCode: 7,
    title: 'Repository not found',
    fix: 'Check PRISM_BACKUP_PATH / backup.storage_path (a typo? a disk not mounted?). The first `prism backup create` creates the repository: in an existing directory, or a new one whose parent exists.',
  },
  REPO_CORRUPT: {
    id: 'ERR_PRISM_REPO_CORRUPT',
    exitCode: 8,
    title: 'Repository file damaged',
    fix: 'A repository file could not be read or decoded; run `prism backup verify --all` to see which backups are affected.',
  },
  INDEX_DAMAGED: {
    id: 'ERR_PRISM_INDEX_DAMAGED',
    exitCode: 8,
    title: 'Repository index damaged',
    fix: 'Rebuild the index from the packs with `prism backup repair index`; it reports what it could not recover, and the next backup stores fresh copies of that.',
  },
  REPO_VERSION: {
    id: 'ERR_PRISM_REPO_VERSION',
    exitCode: 9,
    title: 'Unsupported repository format',
    fix: 'This repository was written by a newer prism; upgrade prism to read it.',
  },
  BACKUP_DISABLED: {
    id: 'ERR_PRISM_DISABLED',
    exitCode: 10,
    title: 'Backups are disabled',
    fix: 'Set "backup.enabled": true in config/backup.json to allow backups.',
  },
  SERVICE_RUNNING: {
    id: 'ERR_PRISM_SERVICE_RUNNING',
    exitCode: 16,
    title: 'The prism service is running',
    fix: 'Stop the service first (`prism stop` or `systemctl stop prism-gateway`), as the SOP requires before a restore; or pass --force.',
  },
  CONFIRMATION_REQUIRED: {
    id: 'ERR_PRISM_CONFIRM',
    exitCode: 17,
    title: 'Confirmation required',
    fix: 'A restore overwrites data: preview it with --dry-run, then run it with --confirm.',
  },
  DELETE_REFUSED: {
    id: 'ERR_PRISM_DELETE_REFUSED',
    exitCode: 20,
    title: 'Delete refused',
    fix: 'SOP 4.2: keep the newest full backup and full backups younger than 3 days; prefer `prism backup cleanup`. Pass --force to delete it anyway.',
  },
  INCREMENTAL_BASE_MISMATCH: {
    id: 'ERR_PRISM_INCREMENTAL_BASE',
    exitCode: 18,
    title: 'Target is not in the parent backup state',
    fix: 'Restore the parent backup first (`prism backup chain <id>` shows the order), or restore this backup whole with --auto-chain.',
  },
  RESTORE_FAILED: {
    id: 'ERR_PRISM_RESTORE',
    exitCode: 19,
    title: 'Restore failed and was rolled back',
    fix: 'The data is as it was before the restore. See logs/backup-restore.log, run `prism backup verify <id>`, or restore another backup.',
  },
  RESTORE_PATH_REFUSED: {
    id: 'ERR_PRISM_RESTORE_PATH',
    exitCode: 19,
    title: 'A path cannot be restored as asked',
    fix: 'Nothing was changed. The message names the path: leave it out with --exclude PATH (or exclude the symlink above it), or restore into another --target.',
  },
  RESTORE_RECOVERY_FAILED: {
    id: 'ERR_PRISM_RESTORE_RECOVERY',
    exitCode: 19,
    title: 'An interrupted restore could not be completed',
    fix: 'Remove the cause the message names (a file in the way, permissions, a full disk), then run `prism health check data` or the restore again: it completes the interrupted one. Every step is in logs/backup-restore.log.',
  },
  ALERT_DELIVERY_FAILED: {
    id: 'ERR_PRISM_ALERT_DELIVERY',
    exitCode: 21,
    title: 'Alert delivery failed',
    fix: 'Check backup.alerts.webhook_url / backup.alerts.command and that the receiver is up; the alert stays pending and is sent again at the next evaluation (`prism alerts --notify`).',
  },
  SERVICE_ALREADY_RUNNING: {
    id: 'ERR_PRISM_ALREADY_RUNNING',
    exitCode: 24,
    title: 'The prism service is already running',
    fix: 'One service per PRISM_HOME: `prism status` shows it; `prism stop` (or `systemctl stop prism-gateway`) stops it.',
  },
  SERVICE_START_FAILED: {
    id: 'ERR_PRISM_SERVICE_START',
    exitCode: 25,
    title: 'The prism service did not start',
    fix: 'See logs/service.log in PRISM_HOME for the reason; `prism start --foreground` shows it on the terminal.',
  },
  SERVICE_STOP_TIMEOUT: {
    id: 'ERR_PRISM_SERVICE_STOP',
    exitCode: 26,
    title: 'The prism service did not stop in time',
    fix: 'A job is still finishing (logs/service.log says which): wait and run `prism stop` again, or give it longer with --timeout. `kill -9 <pid>` is safe too: a killed backup leaves nothing partial visible.',
  },
  METRICS_ADDRESS_UNAVAILABLE: {
    id: 'ERR_PRISM_METRICS_ADDRESS',
    exitCode: 27,
    title: 'The metrics address cannot be used',
    fix: 'Set backup.service.metrics_address in config/backup.json to a free host:port (e.g. 127.0.0.1:9465), or to "" to turn metrics off.',
  },
  DASHBOARD_UNSAFE: {
    id: 'ERR_PRISM_DASHBOARD',
    exitCode: 59,
    title: 'The dashboard cannot be served as configured',
    fix: 'Keep backup.dashboard.listen on a loopback address (127.0.0.1:9470), or give backup.dashboard.tls_cert and tls_key (PEM files), or accept plain HTTP on the network with `prism ui --insecure` / backup.dashboard.insecure: true; set listen to "" to turn the dashboard off. A busy address: pick another port.',
  },
  DB_UNREACHABLE: {
    id: 'ERR_PRISM_DB_UNREACHABLE',
    exitCode: 30,
    title: 'Database unreachable',
    fix: 'Check that the database server runs and that the host, port and database name in the URL (backup.databases[].url or --target-url) are right; the password is never shown.',
  },
  DB_AUTH_FAILED: {
    id: 'ERR_PRISM_DB_AUTH',
    exitCode: 31,
    title: 'Database authentication failed',
    fix: 'Check the user and the password: from the URL, password_file (readable, first line) or password_env (set in the environment of prism).',
  },
  DB_TOOL_FAILED: {
    id: 'ERR_PRISM_DB_TOOL',
    exitCode: 32,
    title: 'Database tool failed',
    fix: 'A native database tool (pg_dump, psql, mariadb-dump, mariadb) is missing or failed: install the client package (postgresql-client, mariadb-client) of a version no older than the server, and read the quoted message.',
  },
  DB_RESTORE_FAILED: {
    id: 'ERR_PRISM_DB_RESTORE',
    exitCode: 33,
    title: 'Database restore failed and was rolled back',
    fix: 'The tables are as they were before the restore. Read the quoted message and logs/backup-restore.log, then try again (or restore into a scratch database with --target-url).',
  },
  DB_VERIFY_FAILED: {
    id: 'ERR_PRISM_DB_VERIFY',
    exitCode: 34,
    title: 'Restored database does not match the backup',
    fix: 'Row counts or checksums of the restored tables differ from the manifest: see the report, run `prism backup verify <id>`, and restore again or from another backup.',
  },
  DB_MISSING_DEPENDENCY: {
    id: 'ERR_PRISM_DB_DEPENDENCY',
    exitCode: 43,
    title: 'Restored table would reference a table the target lacks',
    fix: 'A table created by the restore has a foreign key to a table that is neither in the target nor restored with it (named in the message). Add --with-dependencies to restore the referenced tables along, or --without-foreign-keys to create the table without its foreign keys. Nothing was changed.',
  },
  DB_ENGINE_MISMATCH: {
    id: 'ERR_PRISM_DB_ENGINE',
    exitCode: 42,
    title: 'Database engine differs from the backup',
    fix: 'A dump restores only into the engine it was taken from (PostgreSQL or MySQL/MariaDB): give --target-url with a URL of that engine, or set the type and url of the backup.databases entry back to that engine.',
  },
  RECOVER_FAILED: {
    id: 'ERR_PRISM_RECOVER',
    exitCode: 38,
    title: 'Recovery checkpoint failed; rolled back',
    fix: 'The report names the checkpoint and why it failed; what was done before it was undone (files from the pre-restore backup, tables from their safety copies). Fix the cause (see logs/backup-restore.log) and run `prism recover` again.',
  },
  RECOVER_ROLLBACK_FAILED: {
    id: 'ERR_PRISM_RECOVER_ROLLBACK',
    exitCode: 39,
    title: 'Recovery failed and could not be rolled back completely',
    fix: 'The report lists which rollback steps failed: restore the named pre-restore backup with `prism backup restore <id> --confirm` and the tables from their _prism_safety_… copies by hand.',
  },
  IMPORT_FAILED: {
    id: 'ERR_PRISM_IMPORT',
    exitCode: 35,
    title: 'Import failed; nothing was imported',
    fix: 'The target is as it was before the import. Correct the named line, table or value in the source file (or create the missing table) and run the import again.',
  },
  PG_ARCHIVE_FAILED: {
    id: 'ERR_PRISM_PG_ARCHIVE',
    exitCode: 37,
    title: 'WAL archive or point-in-time recovery failed',
    fix: 'Check the named segment, base backup or directory: `prism pg wal list` shows what the archive holds, `prism pg basebackup` takes a new base backup; PostgreSQL retries a failed archive_command by itself.',
  },
  MYSQL_BINLOG_FAILED: {
    id: 'ERR_PRISM_MYSQL_BINLOG',
    exitCode: 36,
    title: 'Binary log archiving failed',
    fix: 'Check the named binary log file and the server: binary logging on (log_bin), the user granted REPLICATION SLAVE and BINLOG MONITOR (MySQL: REPLICATION CLIENT); `prism mysql binlog list` shows what the archive holds. Running `prism mysql archive-binlog` again is safe.',
  },
  MYSQL_PHYSICAL_FAILED: {
    id: 'ERR_PRISM_MYSQL_PHYSICAL',
    exitCode: 58,
    title: 'MariaDB physical backup or restore failed',
    fix: "Read the quoted mariabackup message. `prism mysql basebackup` runs on the database host (it reads the server's data directory) as a user that can read it (root or mysql), with mariadb-backup of the server's version installed, and a database user granted RELOAD, PROCESS, LOCK TABLES and BINLOG MONITOR. `prism mysql restore` needs an empty or new --data-dir. Nothing half-done is recorded; run it again.",
  },
  BINLOG_POSITION_MISSING: {
    id: 'ERR_PRISM_BINLOG_POSITION',
    exitCode: 40,
    title: 'The backup has no binary log position',
    fix: 'Point-in-time restore starts from a backup taken while the server had binary logging on: enable log_bin (with binlog_format=ROW) on the MySQL/MariaDB server, take a new backup (`prism backup create`), and archive the binary logs from then on (`prism mysql archive-binlog`).',
  },
  BINLOG_GAP: {
    id: 'ERR_PRISM_BINLOG_GAP',
    exitCode: 41,
    title: 'Binary log files missing from the archive',
    fix: 'The archive lacks the named binary log files: run `prism mysql archive-binlog` (with --flush to close the file in use) while the server still has them, then restore again; or restore to an earlier time the archive covers (`prism mysql binlog list`).',
  },
  DRILL_FAILED: {
    id: 'ERR_PRISM_DRILL_FAILED',
    exitCode: 28,
    title: 'Restore drill failed',
    fix: 'The backup could not be restored whole and healthy: see `prism drill --history`, run `prism backup verify --all`, and take a new full backup (`prism backup create --type full`).',
  },
  PASSWORD_MISSING: {
    id: 'ERR_PRISM_PASSWORD_MISSING',
    exitCode: 46,
    title: 'Password needed',
    fix: 'The repository is encrypted: give its password through PRISM_PASSWORD_FILE (a file readable only by you), PRISM_PASSWORD_COMMAND (a command that prints it), a systemd credential named prism-password (LoadCredential=), or run the command in a terminal to be asked.',
  },
  PASSWORD_SOURCE: {
    id: 'ERR_PRISM_PASSWORD_SOURCE',
    exitCode: 47,
    title: 'Password cannot be read',
    fix: 'Fix the password source the message names: the file of PRISM_PASSWORD_FILE must exist and be readable, the command of PRISM_PASSWORD_COMMAND must exit 0 and print the password, and neither may be empty; set only one of PRISM_PASSWORD_FILE, PRISM_PASSWORD_COMMAND and PRISM_PASSWORD.',
  },
  WRONG_PASSWORD: {
    id: 'ERR_PRISM_WRONG_PASSWORD',
    exitCode: 48,
    title: 'Wrong password',
    fix: "No key file of this repository opens with the password given: check which password source is in use (PRISM_PASSWORD_FILE, PRISM_PASSWORD_COMMAND, PRISM_PASSWORD, the systemd credential) and that it is this repository's; `prism key import` restores a key from its export. Nothing was written.",
  },
  KEY_FILE_INVALID: {
    id: 'ERR_PRISM_KEY_FILE',
    exitCode: 49,
    title: 'Key file cannot be used',
    fix: "The key file the message names is malformed, of an unknown kind or asks for key-derivation parameters outside prism's bounds; it was not used. Remove it (`prism key remove ID`) if it is not yours, or restore it from your key export (`prism key import`). A key export given to `prism key import` that does not read: the message names the line to check (a typo on a paper key).",
  },
  KEY_REFUSED: {
    id: 'ERR_PRISM_KEY',
    exitCode: 50,
    title: 'Key operation refused',
    fix: 'See the message: a key id that `prism key list` does not show, removing the last key (add another first with `prism key add`), or a key of a master key retired by `prism key rotate` (open with a key added after the rotate).',
  },
  STORE_UNAVAILABLE: {
    id: 'ERR_PRISM_STORE_UNAVAILABLE',
    exitCode: 51,
    title: 'Repository store unavailable',
    fix: 'The store (S3, Azure, SFTP server) did not answer or kept answering errors until the retries ran out. Check that it is up and reachable from this host (network, DNS, firewall), then run the command again: nothing partial was kept. PRISM_STORE_RETRY_SECONDS sets how long to keep trying.',
  },
  STORE_REFUSED: {
    id: 'ERR_PRISM_STORE_REFUSED',
    exitCode: 52,
    title: 'Repository store refused the request',
    fix: 'See the message: wrong or missing credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, AZURE_STORAGE_KEY or AZURE_STORAGE_CONNECTION_STRING, the SSH key), a bucket or container that does not exist (create it first), no permission on it, or an SSH host key that does not match known_hosts.',
  },
  STORE_LOCATION: {
    id: 'ERR_PRISM_STORE_LOCATION',
    exitCode: 53,
    title: 'Repository location not understood',
    fix: 'Write the repository location (PRISM_BACKUP_PATH, backup.storage_path or --repo) as a local path or as one of s3:https://host/bucket/prefix, azure:container:/prefix, sftp:user@host:/path (see README, Repositories).',
  },
  OBJECT_RETAINED: {
    id: 'ERR_PRISM_OBJECT_RETAINED',
    exitCode: 54,
    title: 'Object under retention',
    fix: 'The store refused to delete or replace an object because it is under retention (S3 Object Lock, backup.object_lock): this is the protection at work, not damage, and nothing was lost. The object can be removed after the date in the message; `prism backup prune` removes what is no longer needed once its retention has passed.',
  },
  OBJECT_LOCK_UNAVAILABLE: {
    id: 'ERR_PRISM_OBJECT_LOCK',
    exitCode: 55,
    title: 'Object lock not available',
    fix: 'backup.object_lock is set, but the repository cannot be kept under retention: it is not on S3 (object lock is an S3 feature), or its bucket was created without Object Lock. Create a bucket with Object Lock (`aws s3api create-bucket --bucket NAME --object-lock-enabled-for-bucket`; on AWS an existing versioned bucket can also get it with `aws s3api put-object-lock-configuration`) and point the repository there, or remove backup.object_lock. See docs/repositories.md, Object lock.',
  },
  COPY_MISMATCH: {
    id: 'ERR_PRISM_COPY',
    exitCode: 56,
    title: 'Copy destination is not a copy of this repository',
    fix: "A copy (backup.copies, `prism backup copy --to NAME`) goes into an empty location, which it makes a copy of the primary repository, or into an earlier copy of the same repository. Point the copy's `repository` at a new bucket prefix, container path or directory; never at another repository.",
  },
  OBJECTS_HIDDEN: {
    id: 'ERR_PRISM_OBJECTS_HIDDEN',
    exitCode: 57,
    title: 'Repository objects hidden by delete markers',
    fix: 'Objects of the repository were deleted without their versions (delete markers that prism does not write on an object-lock bucket): someone with the repository credentials tried to delete backups. Their data is still kept by the bucket. Prune and cleanup stop so that they remove nothing on the strength of a hidden backup. Run `prism backup repair undelete` (it removes the delete markers), then `prism backup verify --all`; rotate the credentials of the host that did it.',
  },
  INTERRUPTED: {
    id: 'ERR_PRISM_INTERRUPTED',
    exitCode: 130,
    title: 'Interrupted',
    fix: 'The operation was stopped before it finished; nothing partial is visible. Run it again.',
  },
  INTERNAL: {
    id: 'ERR_PRISM_INTERNAL',
    exitCode: 70,
    title: 'Internal error',
    fix: 'This is a bug in prism; please report it together with logs/backup.log.',
  },
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;
