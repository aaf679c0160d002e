import type { Command } from 'commander';
import { resolve } from 'node:path';
import type { AppContext } from '../../app/index.js';
import { formatBytes } from '../../core/format.js';
import { PrismError } from '../../errors/index.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { namePath } from '../named-paths.js';
import { out, printJson, table } from '../output.js';
import { parseTargetTime } from '../parse-date.js';
import { runAction } from '../run-action.js';

interface Flags {
  repo?: string;
  json?: boolean;
}

const mysqlContext = (opts: Flags): Promise<AppContext> => repoContext(opts, 'mysql.log');

/** `prism mysql basebackup`, `mysql restore`, `mysql replay`: MariaDB physical backups with mariabackup. */
export function registerMysqlPhysical(mysql: Command): void {
  const common = (c: Command) => c.option(...REPO_OPTION).option('--json', 'print as JSON');

  common(
    mysql
      .command('basebackup')
      .description(
        'MariaDB physical base backup (mariabackup --backup, streamed into the repository); run it on the database host. `basebackup list`: the base backups',
      )
      .argument('[list]', '"list": list the physical base backups instead of taking one')
      .option('--db <name>', 'the server of this database of backup.databases, with its credentials (default: the only MySQL/MariaDB one)')
      .option('--url <url>', 'mysql://user:password@host:port/db instead (no binary log archive is tied to the backup then)')
      .option('--datadir <dir>', "the server's data directory as seen from here (default: the server's @@datadir)"),
  ).action(
    runAction(async (what: string | undefined, opts: Flags & { db?: string; url?: string; datadir?: string }) => {
      if (what !== undefined && what !== 'list') throw new PrismError('INVALID_ARGUMENT', `Unknown argument "${what}": \`prism mysql basebackup [list]\`.`);
      if (what === 'list') {
        const { listPhysicalBackups } = await import('../../app/pitr/mysql/mysql-physical-backup.js');
        const r = await listPhysicalBackups(await mysqlContext(opts));
        if (opts.json) return printJson(r);
        out(`Repository: ${r.repository}`);
        out(`Physical base backups: ${r.base_backups.length}`);
        if (r.base_backups.length > 0)
          out(
            table(
              ['id', 'database', 'size', 'binlog position', 'gtid', 'server', 'finished'],
              r.base_backups.map((b) => [
                b.id,
                b.database ?? '-',
                formatBytes(b.size),
                b.binlog ? `${b.binlog.file}:${b.binlog.position}` : '-',
                b.binlog?.gtid ?? '-',
                b.server.version,
                b.finished_at,
              ]),
            ),
          );
        return;
      }
      const { physicalTarget, takePhysicalBackup } = await import('../../app/pitr/mysql/mysql-physical-backup.js');
      const ctx = await mysqlContext(opts);
      const r = await takePhysicalBackup(ctx, physicalTarget(ctx, opts), { datadir: opts.datadir !== undefined ? resolve(opts.datadir) : undefined });
      if (opts.json) return printJson(r);
      out(
        `Base backup ${r.id}: ${formatBytes(r.size)} (${formatBytes(r.new_bytes)} new), ${r.server.version}, binlog ${r.binlog ? `${r.binlog.file}:${r.binlog.position}${r.binlog.gtid ? ` (GTID ${r.binlog.gtid})` : ''}` : 'off'}, finished ${r.finished_at}`,
      );
      for (const w of r.warnings) out(`  Warning: ${w}`);
    }),
  );

  common(
    mysql
      .command('restore')
      .description('a physical base backup unpacked and prepared in an empty DIR; with --at, the binary log replay up to TIME set up for `prism mysql replay`')
      .requiredOption('--data-dir <dir>', "an empty or new directory (never the live server's)")
      .option('--base <id>', 'this base backup (default: the latest; with --at the latest that finished before it)')
      .option('--at <time>', 'restore to this time, e.g. "2026-12-01T18:30:00Z" or "2026-12-01 18:30"'),
  ).action(
    runAction(async (opts: Flags & { dataDir: string; base?: string; at?: string }) => {
      const at = opts.at !== undefined ? await parseTargetTime('--at', opts.at, new Date()) : undefined;
      namePath({ role: 'MariaDB data directory', path: resolve(opts.dataDir), setting: '--data-dir' });
      const { restorePhysical } = await import('../../app/pitr/mysql/mysql-physical-restore.js');
      const r = await restorePhysical(await mysqlContext(opts), { dataDir: opts.dataDir, base: opts.base, at });
      if (opts.json) return printJson(r);
      out(
        `Restored base backup ${r.base_backup} (finished ${r.base_finished_at}, ${r.server_version}) into ${r.data_dir}${r.owner ? `, owned by ${r.owner}` : ''}`,
      );
      if (r.binlog) out(`  Binary log position of the data: ${r.binlog.file}:${r.binlog.position}${r.binlog.gtid ? ` (GTID ${r.binlog.gtid})` : ''}`);
      if (r.replay) out(`  To replay up to ${r.replay.until}: ${r.replay.files.join(', ')} from ${r.replay.from.file}:${r.replay.from.position}`);
      r.next.forEach((n, i) => out(`${i + 1}. ${n}`));
    }),
  );

  common(
    mysql
      .command('replay')
      .description('replays the binary log a `mysql restore --at` planned into the server now running on its data directory')
      .requiredOption('--data-dir <dir>', 'the directory `prism mysql restore --at` restored')
      .requiredOption('--url <url>', 'the server running on it, e.g. mysql://root@127.0.0.1:3307/mysql'),
  ).action(
    runAction(async (opts: Flags & { dataDir: string; url: string }) => {
      const { replayPhysical } = await import('../../app/pitr/mysql/mysql-physical-restore.js');
      const r = await replayPhysical(await mysqlContext(opts), { dataDir: opts.dataDir, url: opts.url });
      if (opts.json) return printJson(r);
      out(
        `Replayed ${r.events} event(s) of ${r.files.join(', ')} from ${r.from.file}:${r.from.position} into ${r.server}, up to ${r.until} (last event ${r.last_event_at ?? '-'})`,
      );
    }),
  );
}
