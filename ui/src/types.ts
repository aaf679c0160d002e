/** The shapes of the dashboard API (`/api/…`): what the CLI's `--json` prints for the same question. */

export type BackupStatus = 'running' | 'completed' | 'partial' | 'failed' | 'corrupted' | 'damaged';

export interface Backup {
  id: string;
  type: 'full' | 'incremental';
  status: BackupStatus;
  trigger: string;
  parent: string | null;
  comment: string | null;
  host: string;
  user?: string;
  home?: string;
  sources?: string[];
  excludes?: string[];
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  tree?: string | null;
  checksum: string | null;
  compression?: { algorithm: string; level: number; enabled: boolean };
  stats: {
    files: number;
    dirs: number;
    symlinks: number;
    original_bytes: number;
    stored_bytes: number;
    files_read: number;
    bytes_read: number;
    new_blobs: number;
    new_bytes: number;
    packs_written: number;
  };
  error: { code: string; name?: string; message: string } | null;
  warnings: { path: string; code: string; message: string }[];
  databases?: DbRecord[];
}

export interface DbTable {
  name: string;
  rows: number;
  bytes: number;
  object?: string;
}

export interface DbRecord {
  name: string;
  type: 'postgres' | 'mysql';
  url?: string;
  server_version?: string;
  dumped_at?: string;
  bytes: number;
  tables: DbTable[];
}

export interface BackupPage {
  total: number;
  page: number;
  per_page: number;
  items: Backup[];
}

export interface Indicator {
  name: string;
  ok: boolean;
  value: number | null;
  threshold: number;
  message: string;
}

export interface Health {
  healthy: boolean;
  evaluated_at: string;
  indicators: Indicator[];
  disk?: { free: number; total: number; used_percent: number } | null;
}

export type Severity = 'critical' | 'high' | 'medium';

export interface Alert {
  key: string;
  severity: Severity;
  rule: string;
  message: string;
  fix?: string;
  state?: 'active' | 'resolved';
  raised_at?: string;
  resolved_at?: string | null;
  acknowledged?: { by?: string; at?: string; comment?: string | null } | null;
}

export interface JobStatus {
  job: string;
  schedule: string | null;
  next_run: string | null;
  last: { started_at?: string; finished_at?: string; status?: string; error_code?: string } | null;
}

export interface ServiceStatus {
  running: boolean;
  pid: number | null;
  started_at: string | null;
  uptime_seconds: number | null;
  running_job: string | { job: string; started_at?: string } | null;
  jobs: JobStatus[];
  active_alerts: number;
  config_error?: { code: string; message: string } | string | null;
}

export interface Overview {
  status: ServiceStatus;
  health: Health;
  alerts: Alert[] | { active: Alert[] };
  last: Record<string, Backup | null>;
}

export interface Progress {
  pid: number;
  job: string;
  kind: 'backup' | 'restore' | 'copy' | 'verify';
  started_at: string;
  bytes_done: number;
  bytes_total: number | null;
  files_done: number;
  files_total: number | null;
  rate_bytes_per_s: number;
  eta_seconds: number | null;
  updated_at: string;
}

export interface LsEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink' | string;
  mode: number;
  size: number;
  mtime: string;
  target?: string;
}

export interface FilesReply {
  path: string;
  entries: LsEntry[];
  truncated?: boolean;
}

export interface Chain {
  target: string;
  chain: { id: string; type: string; status: string; started_at: string }[];
  broken_at: string | null;
}

export interface Dependencies {
  id: string;
  type: string;
  dependants: { id: string; type: string; status: string; shared_bytes: number; shared_percent: number }[];
  warning: string | null;
}

export interface DiffEntry {
  path: string;
  type: string;
  size?: number;
  old_size?: number;
  new_size?: number;
}

export interface Diff {
  from: string;
  to: string;
  added: DiffEntry[];
  removed: DiffEntry[];
  modified: DiffEntry[];
}

export interface VerifyReport {
  ok: boolean;
  backups: { id: string; ok: boolean; steps: { name: string; ok: boolean; detail: string }[]; damaged: unknown[]; status: string; checksum: string }[];
}

export interface History {
  backups: {
    id: string;
    time: string;
    type: 'full' | 'incremental';
    status: string;
    size: number;
    stored_size: number;
    new_data: number;
    duration_seconds: number | null;
  }[];
  failures: { time: string; type: string; error_code: string | null }[];
  disk: { used_percent: number | null; thresholds: number[] } | null;
  ratios: { dedup: number | null; compression: number | null } | null;
  drills: { time: string; rto_seconds: number | null; target_seconds: number | null; passed: boolean }[];
}

export interface Drill {
  time: string;
  backup_id: string | null;
  repository?: string;
  trigger: string;
  target_seconds: number | null;
  status: string;
  rto_seconds: number | null;
  within_target?: boolean;
  files_checked?: number;
  error?: string | { code: string; message: string } | null;
}

export interface Task {
  job: string;
  trigger: string;
  started_at: string;
  finished_at: string;
  status: string;
  error_code?: string;
  message?: string;
}

export interface CopyStatus {
  name: string;
  repository: string;
  after_backup?: boolean;
  schedule: string | null;
  backups: number | null;
  latest: { id: string; started_at?: string } | null;
  lag: { backups: number; seconds: number | null; oldest_missing: { id: string } | null };
  source?: 'copy' | 'last_run';
  error: { code: string; message: string } | null;
  last_run: { at: string; status: 'ok' | 'failed'; error: { code: string; message: string } | null; copied: number; bytes: number } | null;
  last_success_at: string | null;
}

export interface Session {
  csrf_token: string;
  version?: string;
  time_zone?: string | null;
  expires_at?: string;
}
