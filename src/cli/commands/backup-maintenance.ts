import type { Command } from 'commander';
import { formatDateTime } from '../../core/format.js';
import { PrismError } from '../../errors/index.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { err, out, printJson, table } from '../output.js';
import { parseCount } from '../parse-count.js';
import { parseDuration } from '../parse-duration.js';
import { hasBinlogArchive, renderBinlogExpire, renderMysqlBaseExpire } from '../render/render-binlog-expire.js';
import { hasPgArchive, renderPgExpire } from '../render/render-pg-expire.js';
import { renderPrune } from '../render/render-prune.js';
import { runAction } from '../run-action.js';

const lockWait = (v?: string) => (v ? { lockWaitMs: parseDuration('--lock-wait', v) } : {});

/** Until when an object lock keeps something ("until 2027-01-05 10:00", or a legal hold). */
function retainedNote(until: string | null): string {
  return until ? `until ${formatDateTime(new Date(until))}` : 'by a legal hold';
}

function parseMaxUnused(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)%?$/.exec(v);
  if (!m || Number(m[1]) > 100) throw new PrismError('INVALID_ARGUMENT', `--max-unused "${v}": use a percentage from 0 to 100, e.g. 5%.`);
  return Number(m[1]) / 100;
}

/** On stderr with --json too: a backup dated in the future means a wrong clock or someone writing into the repository. */
function warnFutureDated(future: readonly { id: string; host: string; started_at: string; finished_at: string | null }[], repo: string | undefined): void {
  if (future.length === 0) return;
  const where = repo !== undefined ? ` --repo ${repo}` : '';
  for (const f of future) {
    err(`WARNING: backup ${f.id} (host ${f.host}) is dated in the future (started ${f.started_at}${f.finished_at ? `, finished ${f.finished_at}` : ''}).`);
    err(`  Inspect it with \`prism backup info ${f.id}${where}\`; if it is not genuine, delete it with \`prism backup delete ${f.id} --confirm${where}\`.`);
  }
  err('  Cleanup neither counts nor removes a backup dated in the future: no genuine backup starts after now, so it was made on a host');
  err('  whose clock is wrong or written into the repository by someone else (who may be trying to make cleanup delete genuine backups).');
}

export function registerBackupMaintenance(backup: Command): void {
  backup
    .command('policy')
    .description('the effective retention policy (and where each value comes from)')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: { json?: boolean; repo?: string }) => {
        const { policyReport } = await import('../../app/maintenance/retention.js');
        const p = policyReport(await repoContext(opts));
        if (opts.json) return printJson(p);
        const o = p.origins;
        const r = p.retention_policy;
        out(
          [
            'retention_policy:',
            '  full_backups:',
            `    count: ${r.full_backups.count}          # ${o.full_backups_count}`,
            `    age_days: ${r.full_backups.age_days}       # ${o.full_backups_age_days}`,
            '  incremental_backups:',
            `    count: ${r.incremental_backups.count}         # ${o.incremental_backups_count}`,
            `    age_days: ${r.incremental_backups.age_days}      # ${o.incremental_backups_age_days}`,
            `  max_total_backups: ${r.max_total_backups}   # ${o.max_total_backups}`,
            '  pg_base_backups:',
            `    count: ${r.pg_base_backups.count}          # ${o.pg_base_backups_count}`,
            `    age_days: ${r.pg_base_backups.age_days}       # ${o.pg_base_backups_age_days}`,
            '  mysql_base_backups:',
            `    count: ${r.mysql_base_backups.count}          # ${o.mysql_base_backups_count}`,
            `    age_days: ${r.mysql_base_backups.age_days}       # ${o.mysql_base_backups_age_days}`,
            `# manual backups are kept until deleted by hand; the newest completed full backup is always kept;`,
            `# a backup younger than its age_days is kept whatever the counts and max_total_backups say;`,
            `# a backup dated more than 1 hour in the future is neither counted nor removed (cleanup warns about it);`,
            `# failed attempts are dropped after ${p.failed_attempts_days} days;`,
            `# archived WAL from the start of the oldest kept PostgreSQL base backup on is kept;`,
            `# MariaDB physical base backups are counted per server; archived binary logs a kept backup or base backup replays are kept`,
          ].join('\n'),
        );
      }),
    );
  backup
    .command('cleanup')
    .description('apply the retention policy: remove expired backups, then prune unused data')
    .option('--dry-run', 'list what would go and why, and what it frees')
    .option('--lock-wait <duration>', 'wait this long for other prism processes (e.g. 5m)')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: { dryRun?: boolean; json?: boolean; lockWait?: string; repo?: string }) => {
        const { cleanupBackups } = await import('../../app/maintenance/retention.js');
        const r = await cleanupBackups(await repoContext(opts), { dryRun: opts.dryRun ?? false, ...lockWait(opts.lockWait) });
        warnFutureDated(r.future_dated, opts.repo);
        if (opts.json) return printJson(r);
        const removed = r.decisions.filter((d) => !d.keep);
        const retained = new Map(r.retained.map((x) => [x.id, x.until]));
        if (removed.length === 0) out('No backup expires under the retention policy.');
        else
          out(
            table(
              [opts.dryRun ? 'WOULD REMOVE' : 'REMOVED', 'RULE'],
              removed.map((d) => [retained.has(d.id) ? `${d.id} (RETAINED ${retainedNote(retained.get(d.id)!)})` : d.id, d.reasons[0]!]),
            ),
          );
        out(
          `${r.decisions.length - removed.length} kept, ${removed.length - retained.size} ${opts.dryRun ? 'would be removed' : 'removed'}` +
            (retained.size > 0 ? `, ${retained.size} expired but under retention (object lock): a later cleanup removes them` : ''),
        );
        if (hasPgArchive(r.pg_archive)) out(renderPgExpire(r.pg_archive));
        if (r.binlog_archive.base_backups.length > 0) out(renderMysqlBaseExpire(r.binlog_archive));
        if (hasBinlogArchive(r.binlog_archive)) out(renderBinlogExpire(r.binlog_archive));
        out(renderPrune(r.prune));
      }),
    );
  backup
    .command('delete')
    .description('delete backups (shows what would happen unless --confirm), then prune their data')
    .argument('<backup-id...>', 'one or more backup ids')
    .option('--confirm', 'delete them')
    .option('--force', 'also a full backup younger than 3 days or the newest full backup')
    .option('--no-prune', 'remove the backups only; leave their data for a later `prism backup prune`')
    .option('--lock-wait <duration>', 'wait this long for other prism processes (e.g. 5m)')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (ids: string[], opts: { confirm?: boolean; force?: boolean; prune: boolean; json?: boolean; lockWait?: string; repo?: string }) => {
        const ctx = await repoContext(opts);
        const [{ deleteBackup }, { pruneRepository }] = await Promise.all([
          import('../../app/maintenance/retention.js'),
          import('../../app/maintenance/prune-command.js'),
        ]);
        const reports = [];
        for (const id of ids)
          reports.push(await deleteBackup(ctx, id, { confirm: opts.confirm ?? false, force: opts.force ?? false, prune: false, ...lockWait(opts.lockWait) }));
        const prune = opts.confirm && opts.prune ? await pruneRepository(ctx, lockWait(opts.lockWait)) : null;
        if (opts.json) return printJson(ids.length === 1 ? { ...reports[0]!, prune } : { backups: reports, prune });
        for (const r of reports) {
          if (r.dependants.length > 0) {
            out(`WARNING: ${r.dependants.length} backup(s) have ${r.id} in their lineage: ${r.dependants.join(', ')}.`);
            out('  Their data stays intact: every prism backup is a complete snapshot; only their chain will start later.');
          }
          if (r.refused_reason) out(`Note: ${r.id}: ${r.refused_reason}; deleting it needs --force (SOP 4.2 best practice).`);
          out(r.deleted ? `Deleted ${r.id}.` : `Nothing deleted. Run \`prism backup delete ${r.id} --confirm\` to delete it.`);
        }
        if (prune) out(renderPrune(prune));
      }),
    );
  backup
    .command('prune')
    .description('remove data no backup references (unused packs deleted, mostly-unused packs repacked)')
    .option('--dry-run', 'show what would be freed')
    .option('--max-unused <percent>', 'unused data to tolerate, as a share of the used data (default 5%, as restic)')
    .option('--lock-wait <duration>', 'wait this long for other prism processes (e.g. 5m)')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: { dryRun?: boolean; maxUnused?: string; json?: boolean; lockWait?: string; repo?: string }) => {
        const maxUnused = parseMaxUnused(opts.maxUnused);
        const { pruneRepository } = await import('../../app/maintenance/prune-command.js');
        const r = await pruneRepository(await repoContext(opts), {
          dryRun: opts.dryRun ?? false,
          ...(maxUnused !== undefined ? { maxUnused } : {}),
          ...lockWait(opts.lockWait),
        });
        if (opts.json) return printJson(r);
        out(renderPrune(r));
      }),
    );
  backup
    .command('failures')
    .description('failed and partial backup attempts, with the suggested fix')
    .option('--days <n>', 'look back this many days', '7')
    .option('--json', 'print as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (opts: { days: string; json?: boolean; repo?: string }) => {
        const days = parseCount('--days', opts.days);
        const { backupFailures } = await import('../../app/backups/failures.js');
        const r = await backupFailures(await repoContext(opts), days);
        if (opts.json) return printJson(r);
        out(`Last ${r.days} days: ${r.failures.length} failed or partial of ${r.attempts} attempts (${(r.failure_rate * 100).toFixed(1)}%)`);
        for (const f of r.failures) {
          out(`${formatDateTime(new Date(f.time))}  ${f.id}  ${f.status}  [${f.code}] ${f.message}`);
          out(`    Fix: ${f.fix}`);
        }
      }),
    );
}
