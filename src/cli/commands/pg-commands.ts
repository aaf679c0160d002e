import { resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { InvalidArgumentError, type Command } from 'commander';
import type { AppContext } from '../../app/index.js';
import { formatBytes } from '../../core/format.js';
import { isPrismError } from '../../errors/index.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { namePath } from '../named-paths.js';
import { out, printJson, table } from '../output.js';
import type { PgRestoreFlags } from '../pg-restore-options.js';
import { expireArgs, expireOptions, type ExpireFlags } from '../expire-options.js';
import { renderPgExpire } from '../render/render-pg-expire.js';
import { renderPrune } from '../render/render-prune.js';
import { runAction } from '../run-action.js';

interface RepoFlags {
  repo?: string;
  json?: boolean;
}

const shellWord = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

interface SpoolFlags extends RepoFlags {
  spoolDir?: string;
}

const SPOOL_OPTION = ['--spool-dir <dir>', 'the spool of the background push and fetch (backup.pitr.spool_dir, default PRISM_HOME/spool)'] as const;

function parseCount(v: string): number {
  if (!/^\d{1,2}$/.test(v)) throw new InvalidArgumentError('a whole number from 0 to 99');
  return Number(v);
}

/**
 * Starts `prism ARGS` (with this call's --repo and --spool-dir) as a detached background process:
 * PostgreSQL waits for archive_command and restore_command, not for what they leave running.
 */
function startBackground(args: string[], opts: SpoolFlags): void {
  const child = spawn(
    process.execPath,
    [
      ...process.execArgv,
      process.argv[1] ?? 'prism',
      ...args,
      ...(opts.repo ? ['--repo', opts.repo] : []),
      ...(opts.spoolDir ? ['--spool-dir', resolve(opts.spoolDir)] : []),
    ],
    { detached: true, stdio: 'ignore', env: process.env },
  );
  child.on('error', () => {}); // the call itself still stores its own file
  child.unref();
}

const pgContext = (opts: RepoFlags): Promise<AppContext> => repoContext(opts, 'pg.log');

/** `prism pg …`: WAL archiving, base backups and point-in-time recovery for PostgreSQL. */
export function registerPg(program: Command): void {
  const pg = program.command('pg').description('PostgreSQL WAL archive, base backups and point-in-time recovery');
  const repoOpt = (c: Command) => c.option(...REPO_OPTION).option('--json', 'print as JSON');

  repoOpt(
    pg
      .command('archive-wal')
      .description("archive_command = 'prism pg archive-wal %p': stores one WAL file in the repository (and, in the background, the others ready)")
      .argument('<path>', '%p: the WAL file')
      .option(...SPOOL_OPTION)
      .option('--no-async', 'store this file only, no background push of the others ready (backup.pitr.archive_async)'),
  ).action(
    runAction(async (path: string, opts: SpoolFlags & { async: boolean }) => {
      const [{ archiveWal }, { walSpoolSettings }] = await Promise.all([
        import('../../app/pitr/postgres/pg-archive-wal.js'),
        import('../../app/pitr/postgres/wal-spool.js'),
      ]);
      const ctx = await pgContext(opts);
      const r = await archiveWal(ctx, path, {
        spool: walSpoolSettings(ctx, { spoolDir: opts.spoolDir, ...(opts.async === false ? { async: false } : {}) }),
        startPush: (walDir, skip) => startBackground(['pg', 'archive-push', walDir, '--skip', skip], opts),
      });
      if (opts.async !== false)
        await (await import('../wal-pointer.js')).recordWalPointer(process.env, { kind: 'archive', path, repo: opts.repo, spoolDir: opts.spoolDir });
      if (opts.json) printJson(r);
    }),
  );
  pg.command('archive-command')
    .description('prints archive_command and restore_command for postgresql.conf: the WAL launcher prism-wal by its full path when it is built, else prism')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: RepoFlags) => {
        const { walLauncherPath } = await import('../wal-launcher-path.js');
        const prismPath = resolve(process.argv[1] ?? 'prism');
        const launcher = walLauncherPath(prismPath);
        const cmd = launcher ? shellWord(launcher) : `${shellWord(process.execPath)} ${shellWord(prismPath)} pg`;
        const repo = opts.repo ? ` --repo ${shellWord(resolve(opts.repo))}` : '';
        const q = (s: string) => `'${s.replace(/'/g, "''")}'`;
        out(`archive_command = ${q(`${cmd} archive-wal %p${repo}`)}`);
        out(`restore_command = ${q(`${cmd} restore-wal %f %p${repo}`)}`);
        if (!launcher) out('# the WAL launcher prism-wal is not built here (no C compiler at install): each call starts node');
      }),
    );
  repoOpt(
    pg
      .command('archive-push', { hidden: true })
      .description('the background push of archive-wal: every WAL file ready in <wal-dir> but --skip')
      .argument('<wal-dir>')
      .option('--skip <name>')
      .option(...SPOOL_OPTION),
  ).action(
    runAction(async (walDir: string, opts: SpoolFlags & { skip?: string }) => {
      const [{ pushReadyWal }, { walSpoolSettings }] = await Promise.all([
        import('../../app/pitr/postgres/pg-archive-wal.js'),
        import('../../app/pitr/postgres/wal-spool.js'),
      ]);
      const ctx = await pgContext(opts);
      const r = await pushReadyWal(ctx, walDir, opts.skip, walSpoolSettings(ctx, { spoolDir: opts.spoolDir }));
      if (opts.json) printJson(r);
    }),
  );
  repoOpt(
    pg
      .command('restore-wal')
      .description("restore_command = 'prism pg restore-wal %f %p': fetches one WAL file from the repository (and the next ones ahead, in the background)")
      .argument('<name>', '%f')
      .argument('<path>', '%p')
      .option(...SPOOL_OPTION)
      .option('--prefetch <n>', 'segments fetched ahead (backup.pitr.restore_prefetch; 0: none)', parseCount),
  ).action(
    runAction(async (name: string, path: string, opts: SpoolFlags & { prefetch?: number }) => {
      const [{ restoreWal }, { walSpoolSettings }] = await Promise.all([
        import('../../app/pitr/postgres/pg-archive-wal.js'),
        import('../../app/pitr/postgres/wal-spool.js'),
      ]);
      try {
        const ctx = await pgContext(opts);
        const spool = walSpoolSettings(ctx, { spoolDir: opts.spoolDir, prefetch: opts.prefetch });
        const r = await restoreWal(ctx, name, path, {
          spool,
          startPrefetch: (walDir, after) => startBackground(['pg', 'restore-prefetch', walDir, after, '--prefetch', String(spool.prefetch)], opts),
        });
        await (
          await import('../wal-pointer.js')
        ).recordWalPointer(process.env, { kind: 'restore', path, repo: opts.repo, spoolDir: opts.spoolDir, prefetch: opts.prefetch });
        if (opts.json) printJson(r);
      } catch (e) {
        // PostgreSQL asks for the history file of the next timelines to learn that there is none: a
        // missing one is an answer, not an error (restore_command only needs the non-zero exit)
        if (isPrismError(e) && e.code === 'PG_ARCHIVE_FAILED' && e.details['absent'] === true && name.endsWith('.history') && !opts.json) return e.exitCode;
        throw e;
      }
    }),
  );
  repoOpt(
    pg
      .command('restore-prefetch', { hidden: true })
      .description('the background fetch of restore-wal: the segments after <after> into the spool')
      .argument('<wal-dir>')
      .argument('<after>')
      .option(...SPOOL_OPTION)
      .option('--prefetch <n>', 'segments', parseCount),
  ).action(
    runAction(async (walDir: string, after: string, opts: SpoolFlags & { prefetch?: number }) => {
      const [{ prefetchWal }, { walSpoolSettings }] = await Promise.all([
        import('../../app/pitr/postgres/pg-archive-wal.js'),
        import('../../app/pitr/postgres/wal-spool.js'),
      ]);
      const ctx = await pgContext(opts);
      const r = await prefetchWal(ctx, walDir, after, walSpoolSettings(ctx, { spoolDir: opts.spoolDir, prefetch: opts.prefetch }));
      if (opts.json) printJson(r);
    }),
  );
  repoOpt(
    pg
      .command('restore-end', { hidden: true })
      .description('recovery_end_command of `pg restore`: stops the fetch ahead and empties its spool (run in the data directory)')
      .argument('[wal-dir]', 'the WAL directory recovery read into', 'pg_wal')
      .option(...SPOOL_OPTION),
  ).action(
    runAction(async (walDir: string, opts: SpoolFlags) => {
      const [{ endRestore }, { walSpoolSettings }] = await Promise.all([
        import('../../app/pitr/postgres/pg-archive-wal.js'),
        import('../../app/pitr/postgres/wal-spool.js'),
      ]);
      const ctx = await pgContext(opts);
      const r = await endRestore(ctx, walDir, walSpoolSettings(ctx, { spoolDir: opts.spoolDir }));
      if (opts.json) printJson(r);
    }),
  );
  repoOpt(
    pg
      .command('basebackup')
      .description('pg_basebackup streamed into the repository')
      .option('--url <url>', 'postgres://user:password@host:port/db')
      .option(
        '--db <name>',
        'the server of this database of backup.databases, with its credentials (default: the one marked "pitr", else the libpq environment)',
      ),
  ).action(
    runAction(async (opts: RepoFlags & { url?: string; db?: string }) => {
      const { baseBackupTarget, takeBaseBackup } = await import('../../app/pitr/postgres/pg-basebackup.js');
      const ctx = await pgContext(opts);
      const r = await takeBaseBackup(ctx, baseBackupTarget(ctx, opts));
      if (opts.json) return printJson(r);
      out(`Base backup ${r.id}: ${formatBytes(r.size)}, WAL ${r.start_wal} … ${r.stop_wal} (LSN ${r.start_lsn} … ${r.stop_lsn}), finished ${r.finished_at}`);
      for (const w of r.warnings) out(`  Warning: ${w}`);
    }),
  );
  repoOpt(
    pg
      .command('restore')
      .description(
        'prepares a data directory that recovers to a target (default: the end of the archive) from the latest base backup before it and the WAL archive',
      )
      .requiredOption('--data-dir <dir>', 'an empty or new directory')
      .option('--at <time>', 'recovery target time, e.g. "2026-12-01T18:30:00.250Z" or "2026-12-01 18:30"')
      .option('--target-lsn <lsn>', 'recovery target WAL location, e.g. 0/3000148')
      .option('--target-xid <xid>', "recovery target: a transaction's commit (txid_current() in it)")
      .option('--target-name <name>', 'recovery target: a restore point of `prism pg restore-point`')
      .option('--target-immediate', 'stop as soon as the base backup is consistent')
      .option('--target-exclusive', 'stop just before the target (--at, --target-lsn, --target-xid)')
      .option('--target-action <action>', 'once there: pause | promote | shutdown (default promote)')
      .option(
        '--target-timeline <tl>',
        "N | latest | current (default: the timeline live at --at, the restore point's, the one holding the LSN or transaction, else latest)",
      )
      .option('--base <id>', 'this base backup (pgbase_…) rather than the latest one before the target')
      .option('--archive-mode <mode>', 'off (default: the restored cluster archives nowhere) | preserve (keeps its archive_command)')
      .option('--type <type>', 'recovery (default) | standby: a streaming replica of --primary-url')
      .option('--primary-url <url>', 'the primary a standby follows (postgres://user[:password]@host:port/db)')
      .option('--url <url>', 'same as --primary-url')
      .option('--prefetch <n>', 'segments restore-wal fetches ahead during recovery (backup.pitr.restore_prefetch; 0: none)', parseCount),
  ).action(
    runAction(async (opts: RepoFlags & PgRestoreFlags) => {
      const { parsePgRestore } = await import('../pg-restore-options.js');
      const o = await parsePgRestore(opts, resolve(process.argv[1] ?? 'prism'));
      namePath({ role: 'PostgreSQL data directory', path: resolve(opts.dataDir), setting: '--data-dir' });
      const { restorePointInTime } = await import('../../app/pitr/postgres/pg-restore.js');
      const r = await restorePointInTime(await pgContext(opts), o);
      if (opts.json) return printJson(r);
      const { renderPgRestore } = await import('../render/render-pg-restore.js');
      out(renderPgRestore(r));
    }),
  );
  repoOpt(
    pg
      .command('restore-point')
      .description('pg_create_restore_point(NAME) on the server, recorded in the repository for `pg restore --target-name`')
      .argument('<name>', 'a name not used before (1 to 63 bytes)')
      .option('--url <url>', 'postgres://user:password@host:port/db')
      .option('--db <name>', 'the server of this database of backup.databases (default: the one marked "pitr", else the libpq environment)'),
  ).action(
    runAction(async (name: string, opts: RepoFlags & { url?: string; db?: string }) => {
      const { baseBackupTarget } = await import('../../app/pitr/postgres/pg-basebackup.js');
      const { createRestorePoint } = await import('../../app/pitr/postgres/pg-restore-point.js');
      const ctx = await pgContext(opts);
      const r = await createRestorePoint(ctx, baseBackupTarget(ctx, opts), name);
      if (opts.json) return printJson(r);
      out(`Restore point ${r.name}: LSN ${r.lsn} on timeline ${r.timeline} (in ${r.wal_file}), created ${r.created_at}`);
      out(`  Recover to it: prism pg restore --target-name ${shellWord(r.name)} --data-dir DIR (once ${r.wal_file} is archived)`);
      for (const w of r.warnings) out(`  Warning: ${w}`);
    }),
  );
  repoOpt(pg.command('restore-points').description('the restore points recorded in the repository')).action(
    runAction(async (opts: RepoFlags) => {
      const { listRestorePoints } = await import('../../app/pitr/postgres/pg-restore-point.js');
      const r = await listRestorePoints(await pgContext(opts));
      if (opts.json) return printJson(r);
      out(`Restore points: ${r.length}`);
      if (r.length > 0)
        out(
          table(
            ['name', 'lsn', 'timeline', 'created'],
            r.map((p) => [p.name, p.lsn, String(p.timeline), p.created_at]),
          ),
        );
    }),
  );
  repoOpt(
    expireOptions(pg.command('expire')).description(
      'removes the base backups backup.retention_policy.pg_base_backups_* no longer keeps and the WAL no kept base backup needs, then prunes',
    ),
  ).action(
    runAction(async (opts: RepoFlags & ExpireFlags) => {
      const { expirePgArchive } = await import('../../app/pitr/postgres/pg-expire.js');
      const r = await expirePgArchive(await pgContext(opts), expireArgs(opts));
      if (opts.json) return printJson(r);
      out(renderPgExpire(r));
      if (r.prune) out(renderPrune(r.prune));
    }),
  );
  const wal = pg.command('wal').description('the WAL archive');
  repoOpt(wal.command('list').description('base backups, timelines, restore points and archived WAL files')).action(
    runAction(async (opts: RepoFlags) => {
      const { listWal } = await import('../../app/pitr/postgres/pg-archive-wal.js');
      const r = await listWal(await pgContext(opts));
      if (opts.json) return printJson(r);
      out(`Repository: ${r.repository}`);
      out(`Base backups: ${r.base_backups.length}`);
      if (r.base_backups.length > 0)
        out(
          table(
            ['id', 'finished', 'size', 'start wal', 'stop wal'],
            r.base_backups.map((b) => [b.id, b.finished_at, formatBytes(b.size), b.start_wal, b.stop_wal]),
          ),
        );
      out(`Timelines: ${r.timelines.length}`);
      if (r.timelines.length > 0)
        out(
          table(
            ['timeline', 'parent', 'switch lsn', 'segments', 'first segment', 'last segment', 'last archived'],
            r.timelines.map((t) => [
              String(t.timeline),
              t.parent === null ? '-' : String(t.parent),
              t.switch_lsn ?? '-',
              String(t.segments),
              t.first_segment ?? '-',
              t.last_segment ?? '-',
              t.last_archived_at ?? '-',
            ]),
          ),
        );
      out(`Restore points: ${r.restore_points.length}`);
      if (r.restore_points.length > 0)
        out(
          table(
            ['name', 'lsn', 'timeline', 'created'],
            r.restore_points.map((p) => [p.name, p.lsn, String(p.timeline), p.created_at]),
          ),
        );
      out(`WAL files: ${r.wal.length}`);
      if (r.wal.length > 0)
        out(
          table(
            ['name', 'size', 'archived'],
            r.wal.map((w) => [w.name, formatBytes(w.size), w.archived_at]),
          ),
        );
    }),
  );
}
