import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative } from 'node:path';
import { ERROR_CODES, PrismError, isPrismError } from '../../errors/index.js';
import type { Manifest } from '../../repo/index.js';
import { verifyRestoredTree } from '../../snapshot/verify-restored.js';
import { openRepository, type AppContext } from '../context.js';
import { listFirst } from '../list-first.js';
import { recordDrill, type DrillRecord } from './drill-history.js';
import { recordRepositoryEvent } from '../monitoring/events.js';
import { checkDataHealth, type HealthIssue } from './health-check.js';
import { latestCompleted } from '../backups/manifests.js';
import { resolveBackup } from '../backups/resolve-backup.js';
import { restoreBackup } from '../restore/restore-backup.js';
import type { TaskTrigger } from '../monitoring/task-log.js';
import { mkdirPrivate } from '../../core/private-files.js';

export interface DrillOptions {
  /** Default: the latest completed backup. */
  backupId?: string | undefined;
  trigger: TaskTrigger;
  signal?: AbortSignal;
  /** Where the scratch directory is made (default: the system temp directory). */
  scratchRoot?: string;
}

/**
 * A restore drill (SOP 7.4): restores a backup into a scratch directory, compares every entry
 * with the backup's tree (type, size, mode, content re-hashed), runs the data health check on the
 * copy, and records the RTO (restore start → verified and checked) against
 * backup.drill.rto_target_seconds in logs/drills.log, with an event (high when it fails, medium
 * when it is slower than the target). The scratch directory is always removed.
 *
 * A named backup that does not exist is an error of the caller (thrown, nothing recorded); no
 * repository or no completed backup is a failed drill (recorded, then thrown). An aborted drill
 * (INTERRUPTED) or one kept out by a prune's lock (REPO_LOCKED) is thrown and not recorded.
 */
export async function runDrill(ctx: AppContext, opts: DrillOptions): Promise<DrillRecord> {
  const { clock, config } = ctx;
  const targetSeconds = config.backup.drill.rto_target_seconds;
  const time = clock.now().toISOString();
  let m: Manifest;
  try {
    m = await chooseBackup(ctx, opts.backupId);
  } catch (e) {
    if (opts.backupId === undefined && isPrismError(e))
      finish(ctx, {
        time,
        backup_id: null,
        trigger: opts.trigger,
        status: 'failed',
        rto_seconds: 0,
        target_seconds: targetSeconds,
        within_target: false,
        files_checked: 0,
        error: { code: e.id, message: e.message },
      });
    throw e;
  }
  const root = opts.scratchRoot ?? tmpdir();
  mkdirPrivate(root);
  const scratch = mkdtempSync(join(root, 'prism-drill-'));
  const started = clock.now().getTime();
  const seconds = () => (clock.now().getTime() - started) / 1000;
  const base = { time, backup_id: m.id, trigger: opts.trigger, target_seconds: targetSeconds };
  ctx.logger.info({ event: 'drill.start', backup: m.id, scratch }, 'restore drill started');
  try {
    const restored = await restoreBackup(ctx, { id: m.id, target: scratch, ...(opts.signal ? { signal: opts.signal } : {}) });
    const repo = await openRepository(ctx);
    await repo.loadIndex();
    const check = await verifyRestoredTree(repo, m.tree!, scratch, opts.signal);
    // a file the restore could not write is reported once, as not restored
    const notRestored = new Set(restored.problems.map((p) => p.path));
    check.mismatches = check.mismatches.filter((x) => !notRestored.has(x.path));
    const health = await checkDataHealth(scratchContext(ctx, scratch, m), { PRISM_HOME: scratch });
    const rto = seconds();
    const { inherited, fresh } = splitFindings(health.issues, scratch, [...notRestored, ...check.mismatches.map((x) => x.path)]);
    const problems = [
      ...restored.problems.map((p) => ({ path: p.path, message: `not restored: ${p.message}` })),
      ...check.mismatches.map((x) => ({ path: x.path, message: x.problem })),
      ...fresh.map((i) => ({ path: i.path, message: `health check (${i.check}): ${i.message}` })),
    ];
    const warnings = inherited.map((i) => ({ path: i.path, message: `already in the backup: health check (${i.check}): ${i.message}` }));
    const error =
      restored.problems.length > 0
        ? {
            code: ERROR_CODES.CHECKSUM_MISMATCH.id,
            message: `${restored.problems.length} file(s) could not be restored (damaged or missing data): ${names(restored.problems)}`,
          }
        : check.mismatches.length > 0
          ? { code: ERROR_CODES.DRILL_FAILED.id, message: `${check.mismatches.length} restored entr(ies) differ from the backup: ${names(check.mismatches)}` }
          : fresh.length > 0
            ? {
                code: ERROR_CODES.DRILL_FAILED.id,
                message: `the restored copy is not healthy: ${fresh.length} problem(s), e.g. ${fresh[0]!.path}: ${fresh[0]!.message}`,
              }
            : undefined;
    return finish(ctx, {
      ...base,
      status: error ? 'failed' : 'passed',
      rto_seconds: rto,
      within_target: !error && rto <= targetSeconds,
      files_checked: check.files,
      ...(error ? { error, problems: problems.slice(0, 20) } : {}),
      ...(warnings.length > 0 ? { warnings: warnings.slice(0, 20) } : {}),
    });
  } catch (e) {
    const err = isPrismError(e) ? e : asInterrupt(e);
    // stopped, or kept out by a prune holding the repository: no drill took place
    if (err.code === 'INTERRUPTED' || err.code === 'REPO_LOCKED') throw err;
    return finish(ctx, {
      ...base,
      status: 'failed',
      rto_seconds: seconds(),
      within_target: false,
      files_checked: 0,
      error: { code: err.id, message: err.message },
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Health checks whose findings follow from the data's content or shape alone. */
const OF_THE_DATA = new Set<HealthIssue['check']>(['parse', 'config', 'source']);

/**
 * The health check's findings on the copy, split by whether the backup already held them. Every
 * entry of the copy is compared with the backup (content re-hashed): where it matches, a file that
 * does not parse, an invalid config or an included folder the backup lacks is the backup's own
 * (the data had it when it was backed up), a warning naming the file. Anything else (a file the
 * copy cannot read, an interrupted restore) and anything on an entry that differs is the
 * restore's: the drill fails.
 */
export function splitFindings(
  issues: readonly HealthIssue[],
  scratch: string,
  differing: readonly string[],
): { inherited: HealthIssue[]; fresh: HealthIssue[] } {
  const bad = new Set(differing);
  const inherited: HealthIssue[] = [];
  const fresh: HealthIssue[] = [];
  for (const i of issues) {
    const path = isAbsolute(i.path) ? relative(scratch, i.path) : i.path;
    const mine = { ...i, path };
    if (OF_THE_DATA.has(i.check) && !bad.has(path)) inherited.push(mine);
    else fresh.push(mine);
  }
  return { inherited, fresh };
}

async function chooseBackup(ctx: AppContext, id: string | undefined): Promise<Manifest> {
  const repo = await openRepository(ctx);
  if (id !== undefined) return resolveBackup(repo, { id });
  const m = latestCompleted(await repo.listManifests(), ctx.clock.now());
  if (!m)
    throw new PrismError('BACKUP_NOT_FOUND', `No completed backup to drill in ${ctx.config.storagePath}; create one with \`prism backup create --type full\`.`);
  return m;
}

/** The context the health check sees: the scratch copy as the data directory, with the backup's folders. */
function scratchContext(ctx: AppContext, scratch: string, m: Manifest): AppContext {
  const configFile = join(scratch, 'config', 'backup.json');
  return {
    ...ctx,
    config: {
      ...ctx.config,
      home: scratch,
      configFile,
      configFileExists: existsSync(configFile),
      backup: { ...ctx.config.backup, sources: { include: m.sources, exclude: m.excludes } },
    },
  };
}

function finish(ctx: AppContext, drill: DrillRecord): DrillRecord {
  // a drill of a copy says which: the RTO proven is that copy's
  const { time, backup_id, ...rest } = drill;
  const d: DrillRecord = ctx.copy === undefined ? drill : { time, backup_id, repository: ctx.copy, ...rest };
  recordDrill(ctx.config.home, d);
  const event = {
    time: ctx.clock.now().toISOString(),
    backup: d.backup_id,
    trigger: d.trigger,
    rto_seconds: d.rto_seconds,
    target_seconds: d.target_seconds,
    files_checked: d.files_checked,
  };
  if (d.status === 'failed') {
    recordRepositoryEvent(ctx, { ...event, severity: 'high', event: 'drill.failed', error_code: d.error?.code, message: d.error?.message });
    ctx.logger.error(
      { event: 'drill.failed', backup: d.backup_id, repository: d.repository, code: d.error?.code },
      `restore drill failed: ${d.error?.message}`,
    );
  } else if (!d.within_target) {
    recordRepositoryEvent(ctx, {
      ...event,
      severity: 'medium',
      event: 'drill.slow',
      message: `restore drill took ${d.rto_seconds.toFixed(1)} s, over the ${d.target_seconds} s target`,
    });
  } else {
    recordRepositoryEvent(ctx, { ...event, severity: 'info', event: 'drill.passed' });
  }
  if (d.status === 'passed')
    ctx.logger.info({ event: 'drill.done', backup: d.backup_id, rto_seconds: d.rto_seconds, within_target: d.within_target }, 'restore drill passed');
  return d;
}

function names(xs: ReadonlyArray<{ path: string }>): string {
  return listFirst(xs.map((x) => x.path));
}

function asInterrupt(e: unknown): PrismError {
  const err = e as Error & { code?: string };
  if (err?.name === 'AbortError' || err?.code === 'ABORT_ERR')
    return new PrismError('INTERRUPTED', 'Restore drill interrupted; its scratch directory was removed. Run it again.');
  return new PrismError('INTERNAL', `Unexpected error: ${err?.message ?? String(e)}`, {}, { cause: e });
}
