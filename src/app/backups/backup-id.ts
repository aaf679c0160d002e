import type { BackupType } from '../../core/types.js';

/** `backup_YYYYMMDD_HHMMSS_<type>` in local time, as the SOP writes it. */
export function backupId(at: Date, type: BackupType): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `backup_${at.getFullYear()}${p(at.getMonth() + 1)}${p(at.getDate())}_${p(at.getHours())}${p(at.getMinutes())}${p(at.getSeconds())}_${type}`;
}

/** The id, with `_2`, `_3` … appended while `taken` says it exists. */
export async function uniqueBackupId(at: Date, type: BackupType, taken: (id: string) => Promise<boolean>): Promise<string> {
  const base = backupId(at, type);
  if (!(await taken(base))) return base;
  for (let n = 2; ; n++) {
    const id = `${base}_${n}`;
    if (!(await taken(id))) return id;
  }
}
