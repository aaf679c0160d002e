import type { BackupSection, ObjectLockConfig } from './schema.js';

/** A copy of the repository (backup.copies), its location resolved as storage_path's. */
export interface CopyTarget {
  readonly name: string;
  /** Absolute path or remote location. */
  readonly location: string;
  readonly afterBackup: boolean;
  readonly schedule: string | undefined;
  /** The password file of the copy's own key (absolute); undefined: it shares the primary's keys. */
  readonly passwordFile: string | undefined;
  /** The copy's S3 Object Lock retention (its own `object_lock`; the primary's does not apply). */
  readonly objectLock: ObjectLockConfig | undefined;
  /** The copy's retention: its own `keep`, else the primary's. */
  readonly keep: BackupSection['retention_policy'];
}

export type ValueOrigin = 'default' | 'file' | 'env';

/** The effective configuration every use case receives. */
export interface ResolvedConfig {
  /** PRISM_HOME: the gateway data directory. */
  readonly home: string;
  readonly configFile: string;
  readonly configFileExists: boolean;
  /** Absolute repository path (storage_path with ~ expanded, or PRISM_BACKUP_PATH). */
  readonly storagePath: string;
  /** The host backups are made for: backup.host (or `--host`), else the machine's name. */
  readonly host: string;
  readonly concurrency: number;
  readonly verbose: boolean;
  /** backup.encryption: the repository is to be encrypted (its password comes from AppContext.password, never from here). */
  readonly encryption: { readonly enabled: boolean };
  /** backup.object_lock: the retention every object written to the (S3) repository gets; undefined: none. */
  readonly objectLock: ObjectLockConfig | undefined;
  readonly backup: BackupSection;
  /** backup.copies, in the order configured. */
  readonly copies: readonly CopyTarget[];
  /** Where each leaf key came from, e.g. `backup.retention_policy.full_backups_count` → 'file'. */
  readonly origins: Readonly<Record<string, ValueOrigin>>;
}
