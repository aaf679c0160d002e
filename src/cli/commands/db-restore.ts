import type { Command } from 'commander';
import type { DbRestoreReport } from '../../app/databases/db-restore.js';
import { systemClock } from '../../core/clock.js';
import { formatCount, formatDuration } from '../../core/format.js';
import { PrismError } from '../../errors/index.js';
import { REPO_OPTION, repoContext } from '../context.js';
import { out, printJson } from '../output.js';
import { parseTargetTime } from '../parse-date.js';
import { runAction } from '../run-action.js';

interface Opts {
  db?: string;
  table: string[];
  targetUrl?: string;
  at?: string;
  dryRun?: boolean;
  confirm?: boolean;
  safetyCopy: boolean;
  replay?: boolean;
  clean?: boolean;
  withoutForeignKeys?: boolean;
  withDependencies?: boolean;
  json?: boolean;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export function registerDbRestore(db: Command): void {
  db.command('restore')
    .description('restore a database, or some of its tables, from a backup (one transaction where the engine allows; checked against the manifest)')
    .argument('[backup-id]', 'the backup to restore from (or --at TIME; with --replay both may be given)')
    .requiredOption('--db <name>', 'the database, as named in backup.databases')
    .option('--table <name>', 'restore only this table (schema.table or table; repeatable)', collect, [])
    .option('--target-url <url>', 'restore into this database instead (e.g. a scratch database)')
    .option('--at <time>', 'the latest completed backup of the database at or before TIME (with --replay: the database as it was at TIME)')
    .option('--replay', 'MySQL/MariaDB point in time: after the latest backup that finished before --at, replay the archived binary log up to --at')
    .option('--dry-run', 'show which tables would be created or overwritten; change nothing')
    .option('--confirm', 'do it (required when tables would be overwritten)')
    .option(
      '--clean',
      'the whole database exactly as backed up: also remove the tables (PostgreSQL: views, sequences, types, functions …) the backup does not have, kept as safety copies',
    )
    .option('--without-foreign-keys', 'with --table: create the tables without their foreign keys')
    .option('--with-dependencies', 'with --table: also restore the tables they reference (foreign keys, transitively) that the target lacks')
    .option('--no-safety-copy', 'do not keep a _prism_safety_… copy of overwritten tables (nor of what --clean removes)')
    .option('--json', 'print the result as JSON')
    .option(...REPO_OPTION)
    .action(
      runAction(async (id: string | undefined, opts: Opts & { repo?: string }) => {
        if (id === undefined && opts.at === undefined)
          throw new PrismError('INVALID_ARGUMENT', 'Name the backup to restore from (`prism backup list`), or give --at TIME.');
        if (id !== undefined && opts.at !== undefined && !opts.replay)
          throw new PrismError('INVALID_ARGUMENT', 'Give either a backup id or --at, not both (both only with --replay: replay from that backup to --at).');
        if (opts.replay && opts.at === undefined)
          throw new PrismError('INVALID_ARGUMENT', '--replay needs --at TIME: the point in time to replay the binary log to.');
        const at = opts.at !== undefined ? await parseTargetTime('--at', opts.at, systemClock.now()) : undefined;
        const { restoreDatabase } = await import('../../app/databases/db-restore.js');
        const r = await restoreDatabase(await repoContext(opts, 'backup-restore.log'), {
          id,
          at,
          db: opts.db!,
          tables: opts.table,
          targetUrl: opts.targetUrl,
          dryRun: opts.dryRun ?? false,
          confirm: opts.confirm ?? false,
          safetyCopies: opts.safetyCopy,
          replay: opts.replay ?? false,
          clean: opts.clean ?? false,
          withoutForeignKeys: opts.withoutForeignKeys ?? false,
          withDependencies: opts.withDependencies ?? false,
        });
        if (opts.json) printJson(r);
        else out(render(r));
        return 0;
      }),
    );
}

function render(r: DbRestoreReport): string {
  const clean = r.clean_requested;
  const lines = [`${r.dry_run ? 'Dry run: restoring' : 'Restored'} database ${r.database} (${r.type}) of ${r.backup} into ${r.target}`];
  const extra = r.not_in_backup;
  if (r.dry_run) {
    for (const p of r.plan) {
      lines.push(
        `  ${p.action === 'replace' ? '~ overwrite' : '+ create   '} ${p.name}: ${formatCount(p.backup_rows)} rows from the backup${p.current_rows !== null ? ` (now ${formatCount(p.current_rows)} rows; a safety copy is kept)` : ''}${p.referenced_by ? ` (referenced by ${p.referenced_by.join(', ')})` : ''}`,
      );
    }
    if (extra && clean) {
      for (const o of extra.objects)
        lines.push(`  - remove    ${o.kind} ${o.name}: not in the backup${r.safety_copies ? ' (set aside as a safety copy)' : ' (dropped)'}`);
      for (const k of extra.kept_by_filter) lines.push(`  = keep      table ${k}: include_tables/exclude_tables leave it out of backups`);
    } else if (extra && extra.objects.length > 0) {
      lines.push(`  Kept as they are, not in the backup: ${extra.objects.map((o) => `${o.kind} ${o.name}`).join(', ')} (--clean removes them)`);
    }
    if (r.replay)
      lines.push(
        `  then replay the binary log from ${r.replay.from.file}:${r.replay.from.position} (${r.replay.files.join(', ')}), events before ${r.replay.stop_datetime} UTC`,
      );
    for (const w of [...r.warnings, ...(r.replay?.warnings ?? [])]) lines.push(`  Warning: ${w}`);
    lines.push(
      r.plan.some((p) => p.action === 'replace') || (clean && (extra?.objects.length ?? 0) > 0)
        ? 'Nothing was changed. Run with --confirm to restore.'
        : 'Nothing was changed. Run without --dry-run to restore.',
    );
    return lines.join('\n');
  }
  for (const t of r.tables) {
    lines.push(
      `  ${t.ok ? 'OK ' : 'BAD'} ${t.name}: ${formatCount(t.rows_restored)} rows (backup ${formatCount(t.rows_expected)}), checksum ${t.sha256_restored === t.sha256_expected ? 'matches' : 'DIFFERS'}${t.action === 'create' ? ', created' : ''}${t.safety_copy ? `, safety copy ${t.safety_copy}` : ''}`,
    );
  }
  for (const o of r.clean?.removed ?? []) lines.push(`  -   ${o.kind} ${o.name}: not in the backup, ${o.safety ? `set aside as ${o.safety}` : 'dropped'}`);
  if ((r.clean?.foreign_keys_dropped.length ?? 0) > 0) lines.push(`  Foreign keys dropped with them: ${r.clean!.foreign_keys_dropped.join(', ')}`);
  lines.push(`  Verified:  ${r.verified ? 'row counts and checksums match the backup' : 'MISMATCH'}`);
  if (r.replay) {
    lines.push(
      `  Replayed:  ${formatCount(r.replay.events ?? 0)} events of the binary log from ${r.replay.from.file}:${r.replay.from.position} (${r.replay.files.length} file(s)), up to ${r.replay.stop_datetime} UTC${r.replay.last_event_at ? `; the last at ${r.replay.last_event_at}` : ''}`,
    );
    for (const w of r.replay.warnings) lines.push(`  Warning:   ${w}`);
  }
  for (const w of r.warnings) lines.push(`  Warning:   ${w}`);
  lines.push(`  Duration:  ${formatDuration(r.duration_ms)}`);
  if (!clean && extra && extra.objects.length > 0)
    lines.push(
      `Kept as they are, not in the backup: ${extra.objects.map((o) => `${o.kind} ${o.name}`).join(', ')}. Restore with --clean to have the database exactly as backed up.`,
    );
  if (r.drop_safety_copies.length > 0)
    lines.push(`Safety copies are kept. Drop them when the restored data is confirmed:\n${r.drop_safety_copies.map((s) => `  ${s}`).join('\n')}`);
  return lines.join('\n');
}
