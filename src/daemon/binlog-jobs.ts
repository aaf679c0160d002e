import { isPrismError } from '../errors/index.js';
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
    try {
      const { archiveBinlogs } = await import('../app/pitr/mysql/mysql-archive-binlog.js');
      const r = await archiveBinlogs(ctx, { flush: true });
      const files = r.databases.flatMap((d) => d.files.filter((f) => f.stored === 'new').map((f) => ({ database: d.database, name: f.name })));
      const warnings = r.databases.flatMap((d) => d.warnings.map((w) => `${d.database}: ${w}`));
      const names = [...new Set(files.map((f) => f.name))];
      return {
        message: `${names.length} binary log file(s) archived${names.length > 0 ? ` (${names[0]}${names.length > 1 ? ` … ${names.at(-1)}` : ''})` : ''}${warnings.length > 0 ? `; ${warnings.join(' ')}` : ''}`,
        details: { archived: files, in_use: r.databases.map((d) => ({ database: d.database, file: d.in_use })), warnings },
      };
    } catch (e) {
      // a server without binary logging has nothing to archive: say so, do not fail every quarter hour
      if (isPrismError(e) && e.code === 'MYSQL_BINLOG_FAILED' && e.details['log_bin'] === 'OFF') return { status: 'skipped', message: e.message };
      throw e;
    }
  },
};
