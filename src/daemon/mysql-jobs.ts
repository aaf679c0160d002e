import { whenUnlocked } from './backup-jobs.js';
import type { Job } from './job.js';

/**
 * MariaDB physical base backups on a schedule (`prism mysql basebackup` of the server of the
 * database marked `physical`, with its credentials, mariabackup run on this host). With the binary
 * log archive they are what `prism mysql restore --data-dir DIR --at TIME` starts from; `backup
 * cleanup` keeps backup.retention_policy.mysql_base_backups_* of them. Scheduled only when a
 * database is marked `physical`.
 */
export const mysqlBaseBackupJob: Job = {
  name: 'mysql_basebackup',
  schedule: 'mysql_basebackup',
  applies: (ctx) => ctx.config.backup.databases.some((d) => d.physical),
  run: async (ctx, run) => {
    const { physicalTarget, takePhysicalBackup } = await import('../app/pitr/mysql/mysql-physical-backup.js');
    const db = ctx.config.backup.databases.find((d) => d.physical)!;
    const r = await whenUnlocked(ctx, run, () => takePhysicalBackup(ctx, physicalTarget(ctx, { db: db.name })));
    const position = r.binlog ? `binlog ${r.binlog.file}:${r.binlog.position}${r.binlog.gtid ? ` (GTID ${r.binlog.gtid})` : ''}` : 'binlog off';
    return {
      // binary logging off: the base backup restores to its own moment (no later); said, not failed
      message: `${r.id}: ${r.size} bytes (${r.new_bytes} new), ${position}${r.warnings.map((w) => `; ${w}`).join('')}`,
      details: { id: r.id, database: r.database, size: r.size, new_bytes: r.new_bytes, binlog: r.binlog, server: r.server, warnings: r.warnings },
    };
  },
};
