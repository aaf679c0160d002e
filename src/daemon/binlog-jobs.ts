import type { Job } from './job.js';

/**
 * The MySQL/MariaDB binary log archive on a timer: FLUSH BINARY LOGS closes the file in use, then
 * every closed file not yet archived is stored (`prism mysql archive-binlog --flush`). A restore
 * can replay up to the last run, so `backup.schedule.binlog_archive` sets how much a point-in-time
 * restore can lose. Scheduled only when backup.databases has a MySQL/MariaDB database.
 */
export const binlogArchiveJob: Job = {
  name: 'binlog_archive',
  schedule: 'binlog_archive',
  applies: (ctx) => ctx.config.backup.databases.some((d) => d.type === 'mysql'),
  run: async (ctx) => {
    const { archiveBinlogs } = await import('../app/pitr/mysql/mysql-archive-binlog.js');
    const r = await archiveBinlogs(ctx, { flush: true });
    // a server without binary logging has nothing to archive: say so, do not fail every quarter hour
    const off = r.databases.filter((d) => d.error?.log_bin_off);
    if (off.length === r.databases.length) return { status: 'skipped', message: off.map((d) => d.error!.message).join(' ') };
    // one server that cannot be read fails the job, after the others were archived
    const failed = r.databases.filter((d) => d.error && !d.error.log_bin_off);
    const files = r.databases.flatMap((d) => d.files.filter((f) => f.stored === 'new').map((f) => ({ database: d.database, name: f.name })));
    const warnings = r.databases.flatMap((d) => d.warnings.map((w) => `${d.database}: ${w}`));
    const names = [...new Set(files.map((f) => f.name))];
    const notes = [
      ...(failed.length > 0 ? [`not archived: ${failed.map((d) => `${d.database}: ${d.error!.message}`).join(' ')}`] : []),
      ...off.map((d) => `${d.database}: ${d.error!.message}`),
      ...(warnings.length > 0 ? [warnings.join(' ')] : []),
    ];
    return {
      ...(failed.length > 0 ? { status: 'failed' as const, error_code: failed[0]!.error!.code } : {}),
      message: `${names.length} binary log file(s) archived${names.length > 0 ? ` (${names[0]}${names.length > 1 ? ` … ${names.at(-1)}` : ''})` : ''}${notes.map((n) => `; ${n}`).join('')}`,
      details: {
        archived: files,
        in_use: r.databases.map((d) => ({ database: d.database, file: d.in_use })),
        warnings,
        failed: r.databases.filter((d) => d.error).map((d) => ({ database: d.database, url: d.url, ...d.error })),
      },
    };
  },
};
