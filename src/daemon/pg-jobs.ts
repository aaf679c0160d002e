import type { Job } from './job.js';

/**
 * PostgreSQL base backups on a schedule (`prism pg basebackup` of the cluster of the database
 * marked `pitr`, with its credentials). With the WAL archive they are what `prism pg restore
 * --at` starts from; `backup cleanup` keeps backup.retention_policy.pg_base_backups_* of them.
 */
export const pgBaseBackupJob: Job = {
  name: 'pg_basebackup',
  schedule: 'pg_basebackup',
  applies: (ctx) => ctx.config.backup.databases.some((d) => d.pitr),
  run: async (ctx) => {
    const { baseBackupTarget, takeBaseBackup } = await import('../app/pg-basebackup.js');
    const r = await takeBaseBackup(ctx, baseBackupTarget(ctx, {}));
    return { message: `${r.id}: ${r.size} bytes, WAL ${r.start_wal} … ${r.stop_wal}`, details: { id: r.id, size: r.size, start_wal: r.start_wal, stop_wal: r.stop_wal, server: r.server } };
  },
};
