import type { Command } from 'commander';
import type { AppContext } from '../../app/index.js';
import type { ArchiveBinlogReport } from '../../app/pitr/mysql/mysql-archive-binlog.js';
import { formatBytes } from '../../core/format.js';
import { ERROR_CODES } from '../../errors/index.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { out, printJson, reportFailure, table } from '../output.js';
import { expireArgs, expireOptions, type ExpireFlags } from '../expire-options.js';
import { renderBinlogExpire, renderMysqlBaseExpire } from '../render/render-binlog-expire.js';
import { renderPrune } from '../render/render-prune.js';
import { runAction } from '../run-action.js';
import { parseCount } from '../parse-count.js';
import { registerMysqlPhysical } from './mysql-physical-commands.js';

interface Flags {
  db?: string;
  repo?: string;
  json?: boolean;
}

const mysqlContext = (opts: Flags): Promise<AppContext> => repoContext(opts, 'mysql.log');

/** `prism mysql …`: the binary log archive for MySQL/MariaDB point-in-time restores (`prism db restore --at TIME --replay`). */
export function registerMysql(program: Command): void {
  const mysql = program.command('mysql').description('MySQL/MariaDB binary log archive, MariaDB physical base backups (mariabackup), point-in-time restores');
  const common = (c: Command) => c.option(...REPO_OPTION).option('--json', 'print as JSON');

  common(
    mysql
      .command('archive-binlog')
      .description('copies the closed binary log files of the server into the repository (idempotent: run it from cron or a timer)')
      .option('--db <name>', 'a MySQL/MariaDB database of backup.databases (default: all of them)')
      .option('--flush', 'FLUSH BINARY LOGS first, so the file in use is closed and archived too (needs RELOAD)')
      .option('--binlog-dir <dir>', "read the files from the server's binary log directory instead of over the network"),
  ).action(
    runAction(async (opts: Flags & { flush?: boolean; binlogDir?: string }) => {
      const { archiveBinlogs } = await import('../../app/pitr/mysql/mysql-archive-binlog.js');
      const r = await archiveBinlogs(await mysqlContext(opts), { db: opts.db, flush: opts.flush ?? false, binlogDir: opts.binlogDir });
      const failed = r.databases.filter((d) => d.error);
      if (opts.json) printJson(r);
      else renderArchive(r);
      if (failed.length === 0) return;
      // the others were archived; the run still fails, so cron and timers see it
      const codes = [...new Set(failed.map((d) => d.error!.name))];
      return reportFailure(
        codes[0]!,
        `Binary logs of ${failed.length} database(s) not archived (the others were): ${failed.map((d) => `${d.database}: ${d.error!.message}`).join(' ')}`,
        opts.json,
        codes.map((c) => ERROR_CODES[c].fix).join(' '),
      );
    }),
  );

  common(
    expireOptions(mysql.command('expire'))
      .description(
        "removes the archived binary log files no backup or physical base backup in the repository can replay (those before the oldest one's position), then prunes",
      )
      .option(
        '--keep-base-backups <n>',
        'keep only the newest N physical base backups of each server, whatever their age (default: backup.retention_policy.mysql_base_backups_*); the binary logs only older ones need go too',
      ),
  ).action(
    runAction(async (opts: Flags & ExpireFlags & { keepBaseBackups?: string }) => {
      const { expireMysqlArchive } = await import('../../app/pitr/mysql/mysql-physical-expire.js');
      const keep = opts.keepBaseBackups !== undefined ? parseCount('--keep-base-backups', opts.keepBaseBackups) : undefined;
      const r = await expireMysqlArchive(await mysqlContext(opts), { ...expireArgs(opts), keepBaseBackups: keep });
      if (opts.json) return printJson(r);
      if (r.base_backups.length > 0) out(renderMysqlBaseExpire(r));
      out(r.databases.length === 0 && r.warnings.length === 0 ? 'The repository holds no archived binary log files.' : renderBinlogExpire(r));
      if (r.prune) out(renderPrune(r.prune));
    }),
  );
  registerMysqlPhysical(mysql);
  const binlog = mysql.command('binlog').description('the binary log archive');
  common(binlog.command('list').description('archived binary log files').option('--db <name>', 'only this database')).action(
    runAction(async (opts: Flags) => {
      const { listBinlogs } = await import('../../app/pitr/mysql/mysql-archive-binlog.js');
      const r = await listBinlogs(await mysqlContext(opts), opts.db);
      if (opts.json) return printJson(r);
      out(`Repository: ${r.repository}`);
      out(`Binary log files: ${r.files.length}`);
      if (r.files.length > 0)
        out(
          table(
            ['database', 'name', 'size', 'first event', 'last event', 'archived'],
            r.files.map((f) => [f.database, f.name, formatBytes(f.size), f.first_event_at, f.last_event_at, f.archived_at]),
          ),
        );
    }),
  );
}

/** The text report of `mysql archive-binlog`: per database what was archived, its warnings, and why a server failed. */
function renderArchive(r: ArchiveBinlogReport): void {
  for (const d of r.databases) {
    const fresh = d.files.filter((f) => f.stored === 'new');
    if (d.server_id === null) out(`${d.database} (${d.url}): FAILED [${d.error?.code}] ${d.error?.message}`);
    else
      out(
        `${d.database} (${d.url}, server id ${d.server_id}, binlog_format ${d.binlog_format}): ${fresh.length} file(s) archived, ${d.files.length - fresh.length} already archived${d.not_needed.length > 0 ? `, ${d.not_needed.length} before the oldest backup's position (not needed)` : ''}; in use: ${d.in_use ?? '-'}`,
      );
    for (const f of fresh) out(`  + ${f.name}  ${formatBytes(f.size)} (${formatBytes(f.new_bytes)} new), last event ${f.last_event_at}`);
    for (const w of d.warnings) out(`  Warning: ${w}`);
    if (d.server_id !== null && d.error) out(`  FAILED [${d.error.code}] ${d.error.message}`);
  }
}
