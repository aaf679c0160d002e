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
    const { baseBackupTarget, takeBaseBackup } = await import('../app/pitr/postgres/pg-basebackup.js');
    const r = await takeBaseBackup(ctx, baseBackupTarget(ctx, {}));
    const details = { id: r.id, size: r.size, start_wal: r.start_wal, stop_wal: r.stop_wal, server: r.server, warnings: r.warnings };
    const message = `${r.id}: ${r.size} bytes, WAL ${r.start_wal} … ${r.stop_wal}`;
    // taken, but useless from this repository: a failed task, so it is seen
    if (r.warnings.length > 0) return { status: 'failed', error_code: 'ERR_PRISM_PG_ARCHIVE', message: `${message}; ${r.warnings.join(' ')}`, details };
    return { message, details };
  },
};
