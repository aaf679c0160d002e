import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig, type Env } from '../../config/index.js';
import { PrismError, isPrismError } from '../../errors/index.js';
import type { Manifest } from '../../repo/index.js';
import type { TableOutcome } from '../../source/db/db-restore.js';
import { undoDbRestore } from '../../source/db/db-undo.js';
import { applyConfigSets, parseConfigSet } from './config-set.js';
import { openRepository, type AppContext } from '../context.js';
import { restoreDatabase, restoreTargetFor } from '../databases/db-restore.js';
import { checkDataHealth } from '../integrity/health-check.js';
import { checkEnvironment, type Check } from './recover-environment.js';
import { resolveBackup } from '../backups/resolve-backup.js';
import { restoreBackup } from '../restore/restore-backup.js';

export interface RecoverOptions {
  from?: string | undefined;
  at?: Date | undefined;
  dryRun: boolean;
  /** `key=value` edits of the restored configuration (checkpoint 3). */
  sets: readonly string[];
  /** Allow the files restore while the service runs. */
  force?: boolean;
  /** Each database exactly as backed up: what it has and the backup lacks is set aside (`prism db restore --clean`). */
  clean?: boolean;
}

export interface Checkpoint {
  n: 1 | 2 | 3 | 4;
  name: string;
  ok: boolean;
  checks: Check[];
}

export interface RecoverReport {
  backup: string;
  dry_run: boolean;
  ok: boolean;
  checkpoints: Checkpoint[];
  failed: { checkpoint: number; reason: string } | null;
  rollback: Check[];
  /** Once recovered: the statements that remove the databases' safety copies (tables overwritten, what --clean set aside). */
  drop_safety_copies: string[];
  duration_ms: number;
}

const NAMES = { 1: 'environment', 2: 'databases restored and verified', 3: 'configuration and files restored', 4: 'data rebuilt' } as const;

/**
 * `prism recover`: the recovery process's four checkpoints in order — (1) environment,
 * (2) databases restored and verified, (3) files and configuration restored (with --set
 * adjustments, validated), (4) rebuild hooks run and `health check data` passes. When one fails,
 * everything done before is rolled back (files from the pre-restore backup, tables from their
 * safety copies) and the report says where and why. --dry-run runs checkpoint 1 and changes nothing.
 */
export async function recover(ctx: AppContext, opts: RecoverOptions, env: Env = process.env): Promise<RecoverReport> {
  if (opts.from !== undefined && opts.at !== undefined) throw new PrismError('INVALID_ARGUMENT', 'Give either --from ID or --at TIME, not both.');
  const sets = opts.sets.map(parseConfigSet);
  const started = ctx.clock.now().getTime();
  const log = (event: string, fields: Record<string, unknown>): void => ctx.logger.info({ event: `recover.${event}`, ...fields }, event);
  const repo = await openRepository(ctx);
  const m: Manifest = opts.from !== undefined || opts.at !== undefined ? await resolveBackup(repo, { id: opts.from, at: opts.at }) : await latest(repo);
  const report: RecoverReport = {
    backup: m.id,
    dry_run: opts.dryRun,
    ok: false,
    checkpoints: [],
    failed: null,
    rollback: [],
    drop_safety_copies: [],
    duration_ms: 0,
  };
  log('start', { backup: m.id, dry_run: opts.dryRun, sets: sets.map((s) => `${s.file}:${s.path.join('.')}`) });
  const undo: Array<{ name: string; run: () => Promise<void> }> = [];
  const checkpoint = async (n: Checkpoint['n'], body: (checks: Check[]) => Promise<void>): Promise<boolean> => {
    const cp: Checkpoint = { n, name: NAMES[n], ok: false, checks: [] };
    report.checkpoints.push(cp);
    try {
      await body(cp.checks);
      cp.ok = cp.checks.every((c) => c.ok);
    } catch (e) {
      cp.checks.push({ name: 'error', ok: false, detail: isPrismError(e) ? `[${e.id}] ${e.message}` : String(e) });
    }
    log('checkpoint', { n, name: cp.name, ok: cp.ok, checks: cp.checks });
    if (!cp.ok)
      report.failed = {
        checkpoint: n,
        reason: cp.checks
          .filter((c) => !c.ok)
          .map((c) => `${c.name}: ${c.detail}`)
          .join('; '),
      };
    return cp.ok;
  };

  const ok =
    (await checkpoint(1, async (checks) => {
      checks.push(...(await checkEnvironment(ctx, repo, m)).checks);
      if (!opts.dryRun || !checks.every((c) => c.ok)) return;
      for (const rec of m.databases ?? []) {
        // what checkpoint 2 would do to each database
        const r = await restoreDatabase(ctx, { id: m.id, db: rec.name, dryRun: true, confirm: false, clean: opts.clean ?? false });
        const extra = r.not_in_backup?.objects ?? [];
        const n = (a: 'replace' | 'create') => r.plan.filter((p) => p.action === a).length;
        checks.push({
          name: `database ${rec.name} plan`,
          ok: true,
          detail: `would overwrite ${n('replace')} table(s) (a safety copy of each kept) and create ${n('create')} in ${r.target}${
            extra.length === 0
              ? ''
              : opts.clean
                ? `; --clean would remove (set aside as safety copies) ${extra.map((o) => `${o.kind} ${o.name}`).join(', ')}`
                : `; would keep what the backup lacks: ${extra.map((o) => `${o.kind} ${o.name}`).join(', ')} (--clean removes it)`
          }`,
        });
      }
    })) &&
    !opts.dryRun &&
    (await checkpoint(2, async (checks) => {
      for (const rec of m.databases ?? []) {
        const r = await restoreDatabase(ctx, { id: m.id, db: rec.name, dryRun: false, confirm: true, clean: opts.clean ?? false });
        const outcomes: TableOutcome[] = r.tables;
        undo.unshift({ name: `database ${rec.name}`, run: () => undoDbRestore(restoreTargetFor(ctx, rec, undefined), outcomes, r.clean) });
        report.drop_safety_copies.push(...r.drop_safety_copies);
        const removed = r.clean?.removed ?? [];
        const extra = r.not_in_backup?.objects ?? [];
        checks.push({
          name: `database ${rec.name}`,
          ok: r.verified,
          detail: `${r.tables.length} table(s) into ${r.target}, ${r.tables.reduce((n, t) => n + t.rows_restored, 0)} rows, row counts and checksums ${r.verified ? 'match' : 'DIFFER'}${
            removed.length > 0
              ? `; removed what the backup lacks (set aside): ${removed.map((o) => `${o.kind} ${o.name}`).join(', ')}`
              : !opts.clean && extra.length > 0
                ? `; kept what the backup lacks: ${extra.map((o) => `${o.kind} ${o.name}`).join(', ')} (--clean removes it)`
                : ''
          }`,
        });
      }
      if (!m.databases?.length) checks.push({ name: 'databases', ok: true, detail: 'the backup holds no databases' });
    })) &&
    (await checkpoint(3, async (checks) => {
      const r = await restoreBackup(ctx, { id: m.id, confirm: true, force: opts.force ?? false, safetyBackup: true });
      if (r.safety_backup)
        undo.unshift({
          name: 'files',
          run: async () => void (await restoreBackup(ctx, { id: r.safety_backup!, confirm: true, force: true, safetyBackup: false })),
        });
      checks.push({
        name: 'files',
        ok: r.problems.length === 0,
        detail: `${r.files} file(s) restored into ${r.target}${r.safety_backup ? `; pre-restore backup ${r.safety_backup}` : ''}`,
      });
      if (sets.length > 0) {
        // the edited files as they are now, put back by the rollback (with no pre-restore backup, when the files restore changed nothing, nothing else would)
        const configDir = join(ctx.config.home, 'config');
        const saved = new Map([...new Set(sets.map((x) => join(configDir, x.file)))].map((f) => [f, existsSync(f) ? readFileSync(f) : null]));
        undo.unshift({ name: 'configuration', run: async () => putBack(saved) });
        const changed = applyConfigSets(configDir, sets);
        checks.push({
          name: 'parameters',
          ok: true,
          detail: `${sets.length} setting(s) in ${changed.map((f) => f.slice(ctx.config.home.length + 1)).join(', ')}`,
        });
      }
      loadConfig(env); // the restored (and adjusted) configuration must validate
      checks.push({ name: 'configuration', ok: true, detail: 'config/backup.json validates' });
    })) &&
    (await checkpoint(4, async (checks) => {
      const restored = { ...ctx, config: loadConfig(env) };
      for (const hook of restored.config.backup.recovery.rebuild_hooks) {
        const r = spawnSync('sh', ['-c', hook], {
          cwd: restored.config.home,
          env: { ...process.env, PRISM_HOME: restored.config.home },
          encoding: 'utf8',
          timeout: 30 * 60_000,
        });
        checks.push({
          name: `hook ${hook}`,
          ok: r.status === 0,
          detail: r.status === 0 ? 'ok' : `exit ${r.status ?? r.signal}: ${(r.stderr || r.stdout).trim().slice(-300)}`,
        });
        if (r.status !== 0) return;
      }
      const h = await checkDataHealth(restored);
      checks.push({
        name: 'health check data',
        ok: h.healthy,
        detail: h.healthy
          ? `${h.files} files healthy`
          : h.issues
              .slice(0, 5)
              .map((i) => `${i.path}: ${i.message}`)
              .join('; '),
      });
    }));

  report.ok = ok || (opts.dryRun && report.checkpoints[0]!.ok);
  if (!report.ok) {
    for (const u of undo) {
      try {
        await u.run();
        report.rollback.push({ name: u.name, ok: true, detail: 'rolled back' });
      } catch (e) {
        report.rollback.push({ name: u.name, ok: false, detail: isPrismError(e) ? `[${e.id}] ${e.message}` : String(e) });
      }
    }
    log('rollback', { failed: report.failed, steps: report.rollback });
    report.drop_safety_copies = []; // the rollback used them up
  }
  report.duration_ms = ctx.clock.now().getTime() - started;
  log('done', { ok: report.ok, failed: report.failed, duration_ms: report.duration_ms });
  return report;
}

/** Writes each file back as it was (atomically, its mode kept), or removes it when it did not exist. */
function putBack(saved: ReadonlyMap<string, Buffer | null>): void {
  for (const [file, content] of saved) {
    if (content === null) {
      rmSync(file, { force: true });
      continue;
    }
    const tmp = `${file}.prism-tmp`;
    writeFileSync(tmp, content, { mode: existsSync(file) ? statSync(file).mode & 0o777 : 0o600 });
    renameSync(tmp, file);
  }
}

async function latest(repo: Awaited<ReturnType<typeof openRepository>>): Promise<Manifest> {
  // a "Pre-restore backup" is the state a restore replaced, not something to recover to by default
  const all = (await repo.listManifests()).filter((x) => x.status === 'completed' && !(x.comment ?? '').startsWith('Pre-restore backup'));
  const m = all[all.length - 1];
  if (!m) throw new PrismError('BACKUP_NOT_FOUND', 'No completed backup to recover from; `prism backup list` shows what exists.');
  return m;
}
