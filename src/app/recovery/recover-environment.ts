import { rmSync, statfsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isPrismError } from '../../errors/index.js';
import type { Manifest, Repository } from '../../repo/index.js';
import { checkBackups } from '../../snapshot/checker.js';
import { checkDbTools, serverMajor } from '../../source/db/db-tools.js';
import type { TablePlan } from '../../source/db/db-restore.js';
import { planMysql } from '../../source/mysql/mysql-restore.js';
import { planPostgres } from '../../source/postgres/postgres-restore.js';
import type { AppContext } from '../context.js';
import { restoreTargetFor } from '../databases/db-restore.js';
import { mkdirPrivate, writePrivateFile } from '../../core/private-files.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/**
 * Checkpoint 1 (环境准备): the backup verifies (every chunk read and re-hashed), the native tools
 * of its databases are installed and no older than the servers, every database is reachable,
 * there is room for the data, and the data directory is writable. Changes nothing.
 */
export async function checkEnvironment(ctx: AppContext, repo: Repository, m: Manifest): Promise<{ checks: Check[]; plans: Map<string, TablePlan[]> }> {
  const checks: Check[] = [];
  const plans = new Map<string, TablePlan[]>();
  const [verdict] = await checkBackups({ repo, manifests: [m], data: { kind: 'all' } });
  checks.push({
    name: 'backup',
    ok: verdict!.ok,
    detail: verdict!.ok
      ? `${m.id} verified (files${m.databases?.length ? ' and databases' : ''})`
      : verdict!.steps
          .filter((s) => !s.ok)
          .map((s) => s.detail)
          .join('; '),
  });
  for (const rec of m.databases ?? []) {
    const tools = checkDbTools(rec.type);
    const missing = tools.filter((t) => t.version === null);
    const server = serverMajor(rec.server_version);
    const old = rec.type === 'postgres' ? tools.filter((t) => t.major !== null && server !== null && t.major < server) : [];
    checks.push({
      name: `tools ${rec.name}`,
      ok: missing.length === 0 && old.length === 0,
      detail:
        missing.length > 0
          ? `missing: ${missing.map((t) => t.tool).join(', ')}`
          : old.length > 0
            ? `${old.map((t) => t.tool).join(', ')} older than the server (${rec.server_version})`
            : tools.map((t) => t.version).join('; '),
    });
    try {
      const target = restoreTargetFor(ctx, rec, undefined);
      const plan = rec.type === 'postgres' ? await planPostgres(target, rec.tables) : await planMysql(target, rec.tables);
      plans.set(rec.name, plan);
      checks.push({
        name: `database ${rec.name}`,
        ok: true,
        detail: `${target.shown} reachable; ${plan.filter((p) => p.action === 'replace').length} table(s) to overwrite, ${plan.filter((p) => p.action === 'create').length} to create`,
      });
    } catch (e) {
      checks.push({ name: `database ${rec.name}`, ok: false, detail: isPrismError(e) ? `[${e.id}] ${e.message}` : String(e) });
    }
  }
  const home = ctx.config.home;
  try {
    const probeDir = existingAncestor(home);
    const fs = statfsSync(probeDir);
    const free = fs.bavail * fs.bsize;
    const need = Math.ceil(m.stats.original_bytes * 1.1);
    checks.push({ name: 'disk space', ok: free >= need, detail: `${free} bytes free at ${probeDir}, ${need} needed` });
  } catch (e) {
    checks.push({ name: 'disk space', ok: false, detail: (e as Error).message });
  }
  try {
    mkdirPrivate(home);
    const probe = join(home, `.prism-recover-probe-${process.pid}`);
    writePrivateFile(probe, 'x');
    rmSync(probe);
    checks.push({ name: 'data directory', ok: true, detail: `${home} writable` });
  } catch (e) {
    checks.push({ name: 'data directory', ok: false, detail: `${home} not writable: ${(e as Error).message}` });
  }
  return { checks, plans };
}

function existingAncestor(p: string): string {
  let d = p;
  for (;;) {
    try {
      statfsSync(d);
      return d;
    } catch {
      const up = dirname(d);
      if (up === d) return d;
      d = up;
    }
  }
}
