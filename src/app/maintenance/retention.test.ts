import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LocalBackend } from '../../backend/index.js';
import { FixedClock } from '../../core/clock.js';
import type { BackupType } from '../../core/types.js';
import { Repository, type Manifest } from '../../repo/index.js';
import { appContext, hashTree, prngBytes, readBackTree, sandbox, textData, writeDataset, type Sandbox, sizeListing } from '../../testing/fixtures.js';
import { createBackup } from '../backups/create-backup.js';
import { listBackups } from '../backups/list-backups.js';
import { cleanupBackups, deleteBackup, policyReport } from './retention.js';
import { verifyBackups } from '../integrity/verify-backups.js';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;
const DIST = fileURLToPath(new URL('../..', import.meta.url));

/** Every file of the repository → its size (the "listing with sizes" the dry-run checks compare). */

const repoBytes = (dir: string) => [...sizeListing(dir).values()].reduce((a, b) => a + b, 0);

async function openRepo(sb: Sandbox): Promise<Repository> {
  const repo = await Repository.open(new LocalBackend(sb.repo), new FixedClock(NOW));
  await repo.loadIndex();
  return repo;
}

/** The files a backup holds, read back from the repository: path → sha256. */
async function filesOf(repo: Repository, m: Manifest): Promise<Map<string, string>> {
  assert.ok(m.tree, `${m.id} has a tree`);
  const out = new Map<string, string>();
  for (const [p, v] of await readBackTree(repo, m.tree)) if (v.sha256 !== undefined) out.set(p, v.sha256);
  return out;
}

/** A tiny scenario driver: backups made at chosen days before NOW, and what each should hold. */
class Timeline {
  readonly expected = new Map<string, Map<string, string>>();
  constructor(private readonly sb: Sandbox) {}
  ctx(daysAgo: number) {
    return appContext(this.sb, {}, new FixedClock(new Date(NOW.getTime() - daysAgo * DAY)));
  }
  async backup(daysAgo: number, type: BackupType, trigger: 'manual' | 'scheduled' = 'scheduled'): Promise<Manifest> {
    const m = await createBackup(this.ctx(daysAgo), { type, trigger });
    assert.equal(m.status, 'completed');
    this.expected.set(m.id, hashTree(this.sb.home));
    return m;
  }
  /** A failed attempt: an included folder is missing (ERR_BACKUP_003). */
  async failedAttempt(daysAgo: number): Promise<string> {
    const dir = join(this.sb.home, 'level-2-warm');
    renameSync(dir, `${dir}.away`);
    try {
      await assert.rejects(createBackup(this.ctx(daysAgo), { type: 'full', trigger: 'scheduled' }), (e: { code?: string }) => e.code === 'SOURCE_NOT_FOUND');
    } finally {
      renameSync(`${dir}.away`, dir);
    }
    const failed = (await (await openRepo(this.sb)).listManifests()).filter(
      (m) => m.status === 'failed' && m.started_at === new Date(NOW.getTime() - daysAgo * DAY).toISOString(),
    );
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.error?.code, 'ERR_BACKUP_003');
    return failed[0]!.id;
  }
  change(seed: number): void {
    writeFileSync(join(this.sb.home, 'level-1-hot', 'shard-0', `doc-0.json`), textData(4000, seed));
    writeFileSync(join(this.sb.home, 'level-2-warm', `changed-${seed}.json`), textData(3000, seed + 1000));
  }
}

describe('cleanupBackups: the retention policy applied to a real repository', () => {
  let sb: Sandbox;
  let t: Timeline;
  const ids: Record<string, string> = {};
  before(async () => {
    sb = sandbox();
    writeDataset(sb.home, { files: 30, seed: 5 });
    // full_backups_age_days is left at its default on purpose (policyReport must say so)
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: { retention_policy: { full_backups_count: 1, incremental_backups_count: 2, incremental_backups_age_days: 7, max_total_backups: 3 } },
      }),
    );
    t = new Timeline(sb);
    // data only the oldest backups hold: cleanup must free it
    writeFileSync(join(sb.home, 'level-3-cold', 'old-unique.bin'), prngBytes(1536 * 1024, 77));
    ids.F1 = (await t.backup(40, 'full')).id;
    t.change(1);
    ids.I1 = (await t.backup(39, 'incremental')).id;
    ids.failedOld = await t.failedAttempt(38);
    rmSync(join(sb.home, 'level-3-cold', 'old-unique.bin'));
    t.change(2);
    ids.F2 = (await t.backup(25, 'full')).id;
    t.change(3);
    ids.M = (await t.backup(20, 'full', 'manual')).id;
    t.change(4);
    ids.I2 = (await t.backup(19, 'incremental')).id;
    t.change(5);
    ids.I3 = (await t.backup(12, 'incremental')).id;
    t.change(6);
    ids.I4 = (await t.backup(11, 'incremental')).id;
    t.change(7);
    ids.F3 = (await t.backup(8, 'full')).id;
    ids.failedRecent = await t.failedAttempt(5);
    t.change(8);
    ids.I5 = (await t.backup(2, 'incremental')).id;
  });
  after(() => sb.cleanup());

  it('policyReport shows the configured values and where each comes from', () => {
    const p = policyReport(t.ctx(0));
    assert.deepEqual(p.retention_policy, {
      full_backups: { count: 1, age_days: 7 },
      incremental_backups: { count: 2, age_days: 7 },
      max_total_backups: 3,
      pg_base_backups: { count: 7, age_days: 7 },
      mysql_base_backups: { count: 7, age_days: 7 },
    });
    assert.deepEqual(p.origins, {
      full_backups_count: 'file',
      full_backups_age_days: 'default',
      incremental_backups_count: 'file',
      incremental_backups_age_days: 'file',
      max_total_backups: 'file',
      pg_base_backups_count: 'default',
      pg_base_backups_age_days: 'default',
      mysql_base_backups_count: 'default',
      mysql_base_backups_age_days: 'default',
    });
    assert.equal(p.failed_attempts_days, 30);
  });

  it('a dry run and the real run make the same decisions; the real run removes them, frees space and keeps the rest intact', async () => {
    const before = sizeListing(sb.repo);
    const dry = await cleanupBackups(t.ctx(0), { dryRun: true });
    assert.deepEqual(sizeListing(sb.repo), before, 'the dry run changes no file of the repository');
    assert.equal(dry.dry_run, true);

    const expectedRemoved = [ids.I4, ids.I3, ids.I2, ids.F2, ids.failedOld, ids.I1, ids.F1];
    assert.deepEqual(new Set(dry.removed), new Set(expectedRemoved), JSON.stringify(dry.decisions, null, 1));
    const reason = (id: string) => dry.decisions.find((d) => d.id === id)!.reasons[0]!;
    assert.match(reason(ids.F1!), /beyond the newest 1 full backups and older than 7 days/);
    assert.match(reason(ids.I2!), /beyond the newest 2 incremental backups and older than 7 days/);
    assert.match(reason(ids.I4!), /more than max_total_backups \(3\)/);
    assert.match(reason(ids.failedOld!), /failed attempt older than 30 days/);
    assert.match(reason(ids.M!), /^manual backup/);
    assert.ok(dry.decisions.find((d) => d.id === ids.F3)!.reasons.includes('newest completed full backup'));
    assert.match(reason(ids.failedRecent!), /failed attempt within 30 days/);
    assert.ok(dry.prune.freedBytes > 1024 * 1024, `the dry run reports the unique data of the oldest backups as freed: ${dry.prune.freedBytes}`);

    const bytesBefore = repoBytes(sb.repo);
    const real = await cleanupBackups(t.ctx(0));
    assert.equal(real.dry_run, false);
    assert.deepEqual(real.removed, dry.removed, 'same removed ids');
    assert.deepEqual(real.decisions, dry.decisions, 'same decisions and reasons');
    // the dry run planned the prune exactly as the real one carried it out
    assert.deepEqual(
      { unused: real.prune.unusedPacks, repack: real.prune.repackPacks, orphan: real.prune.orphanPacks, freed: real.prune.freedBytes },
      { unused: dry.prune.unusedPacks, repack: dry.prune.repackPacks, orphan: dry.prune.orphanPacks, freed: dry.prune.freedBytes },
    );

    for (const id of real.removed) assert.equal(existsSync(join(sb.repo, 'snapshots', `${id}.json`)), false, `${id}'s manifest is gone`);
    const left = (await (await openRepo(sb)).listManifests()).map((m) => m.id).sort();
    assert.deepEqual(left, [ids.M, ids.F3, ids.failedRecent, ids.I5].sort(), 'manual, newest full, recent failure and newest incremental survive');
    assert.ok(
      repoBytes(sb.repo) < bytesBefore - 1024 * 1024,
      `repository bytes went down by at least the unique 1.5 MiB: ${bytesBefore} -> ${repoBytes(sb.repo)}`,
    );

    const verify = await verifyBackups(t.ctx(0), { all: true, data: { kind: 'all' } });
    assert.equal(verify.ok, true, JSON.stringify(verify.backups.filter((b) => !b.ok)));
    assert.deepEqual(
      verify.backups.map((b) => b.checksum),
      ['verified', 'verified', 'verified'],
    );

    const repo = await openRepo(sb);
    for (const m of await repo.listManifests()) {
      if (m.status !== 'completed') continue;
      assert.deepEqual(await filesOf(repo, m), t.expected.get(m.id), `${m.id} still restores every file as written`);
    }
    const again = await cleanupBackups(t.ctx(0), { dryRun: true });
    assert.deepEqual(again.removed, [], 'a second cleanup finds nothing to do');
  });
});

describe('cleanupBackups: interrupted attempts', () => {
  let sb: Sandbox;
  before(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 30, seed: 9 });
  });
  after(() => sb.cleanup());

  it('an attempt killed 40 days ago (listed as failed, ERR_PRISM_INTERRUPTED) is removed like every failed attempt older than 30 days', async () => {
    const t = new Timeline(sb);
    await t.backup(45, 'full');
    // a real process, killed with SIGKILL at the first progress event of a backup dated 40 days ago
    const when = new Date(NOW.getTime() - 40 * DAY).toISOString();
    const script = `
      const app = await import(${JSON.stringify(pathToFileURL(join(DIST, 'app/index.js')).href)});
      const { loadConfig } = await import(${JSON.stringify(pathToFileURL(join(DIST, 'config/index.js')).href)});
      const { FixedClock } = await import(${JSON.stringify(pathToFileURL(join(DIST, 'core/clock.js')).href)});
      const { silentLogger } = await import(${JSON.stringify(pathToFileURL(join(DIST, 'core/logger.js')).href)});
      const ctx = { config: loadConfig(process.env), clock: new FixedClock(new Date(${JSON.stringify(when)})), logger: silentLogger };
      await app.createBackup(ctx, { type: 'full', trigger: 'scheduled', onProgress: () => process.kill(process.pid, 'SIGKILL') });
      process.exit(3);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...sb.env }, encoding: 'utf8' });
    assert.equal(r.signal, 'SIGKILL', `the backup process was killed mid-way: ${r.stderr}`);
    const shown = (await listBackups(t.ctx(0))).find((m) => m.started_at === when);
    assert.ok(shown, 'the killed attempt is recorded');
    assert.equal(shown.status, 'failed');
    assert.equal(shown.error?.code, 'ERR_PRISM_INTERRUPTED');

    const report = await cleanupBackups(t.ctx(0));
    assert.ok(report.removed.includes(shown.id), `removed: ${JSON.stringify(report.decisions.find((d) => d.id === shown.id))}`);
    assert.equal(existsSync(join(sb.repo, 'snapshots', `${shown.id}.json`)), false);
  });
});

describe('cleanupBackups: a damaged manifest', () => {
  let sb: Sandbox;
  before(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 20, seed: 31 });
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({ backup: { retention_policy: { full_backups_count: 1, full_backups_age_days: 1 } } }),
    );
  });
  after(() => sb.cleanup());

  it("the dry run and the real run agree: both refuse before anything is removed (prune would drop the damaged backup's data)", async () => {
    const t = new Timeline(sb);
    const old = await t.backup(20, 'full');
    t.change(41);
    writeFileSync(join(sb.home, 'level-3-cold', 'only-in-damaged.bin'), prngBytes(1024 * 1024, 41));
    const damaged = await t.backup(15, 'full', 'manual');
    rmSync(join(sb.home, 'level-3-cold', 'only-in-damaged.bin'));
    t.change(42);
    await t.backup(1, 'full');
    writeFileSync(join(sb.repo, 'snapshots', `${damaged.id}.json`), '{"format": 1, "id": "trunc');
    const before = sizeListing(sb.repo);

    const isCorrupt = (e: { code?: string }) => e.code === 'REPO_CORRUPT';
    const dry = await cleanupBackups(t.ctx(0), { dryRun: true }).then(
      (r) => r,
      (e: { code?: string }) => e,
    );
    const real = await cleanupBackups(t.ctx(0)).then(
      (r) => r,
      (e: { code?: string }) => e,
    );
    const problems: string[] = [];
    if (!isCorrupt(real as { code?: string })) problems.push('the real run did not refuse');
    if (!existsSync(join(sb.repo, 'snapshots', `${old.id}.json`)))
      problems.push(`the real run failed with ${(real as { code?: string }).code} but had already removed ${old.id}`);
    else if (JSON.stringify([...sizeListing(sb.repo)]) !== JSON.stringify([...before])) problems.push('the refused real run changed files');
    if (!isCorrupt(dry as { code?: string })) {
      const plan = dry as { removed: string[]; prune: { freedBytes: number } };
      problems.push(
        `the dry run did not refuse: it reported removing ${plan.removed.join(', ')} and freeing ${plan.prune.freedBytes} bytes (including the damaged backup's data)`,
      );
    }
    assert.deepEqual(problems, []);
  });
});

describe('deleteBackup', () => {
  let sb: Sandbox;
  let t: Timeline;
  const ids: Record<string, string> = {};
  before(async () => {
    sb = sandbox();
    writeDataset(sb.home, { files: 30, seed: 21 });
    t = new Timeline(sb);
    ids.F1 = (await t.backup(10, 'full', 'manual')).id;
    t.change(11);
    writeFileSync(join(sb.home, 'level-3-cold', 'only-in-i1.bin'), prngBytes(1024 * 1024, 5));
    ids.I1 = (await t.backup(9, 'incremental', 'manual')).id;
    rmSync(join(sb.home, 'level-3-cold', 'only-in-i1.bin'));
    t.change(12);
    ids.I2 = (await t.backup(8, 'incremental', 'manual')).id;
    t.change(13);
    ids.I3 = (await t.backup(7, 'incremental', 'manual')).id;
    t.change(14);
    ids.F2 = (await t.backup(2, 'full', 'manual')).id;
    t.change(15);
    ids.F3 = (await t.backup(1, 'full', 'manual')).id;
  });
  after(() => sb.cleanup());

  it('without confirm changes nothing and lists the dependants', async () => {
    const before = sizeListing(sb.repo);
    const r = await deleteBackup(t.ctx(0), ids.I1!, {});
    assert.equal(r.deleted, false);
    assert.deepEqual(r.dependants, [ids.I2, ids.I3]);
    assert.equal(r.refused_reason, null);
    assert.equal(r.prune, null);
    const full = await deleteBackup(t.ctx(0), ids.F1!, {});
    assert.deepEqual(full.dependants, [ids.I1, ids.I2, ids.I3]);
    assert.equal(full.refused_reason, null, 'an old full that is not the newest needs no force');
    assert.deepEqual(sizeListing(sb.repo), before, 'no file changed');
  });

  it('deleting an incremental with dependants keeps the dependants fully restorable and frees its own data', async () => {
    const bytesBefore = repoBytes(sb.repo);
    const r = await deleteBackup(t.ctx(0), ids.I1!, { confirm: true });
    assert.equal(r.deleted, true);
    assert.deepEqual(r.dependants, [ids.I2, ids.I3]);
    assert.ok(r.prune, 'the delete pruned');
    assert.equal(existsSync(join(sb.repo, 'snapshots', `${ids.I1}.json`)), false);
    assert.ok(repoBytes(sb.repo) < bytesBefore - 512 * 1024, `the 1 MiB only ${ids.I1} held is freed: ${bytesBefore} -> ${repoBytes(sb.repo)}`);
    const repo = await openRepo(sb);
    for (const id of [ids.I2!, ids.I3!, ids.F1!])
      assert.deepEqual(await filesOf(repo, await repo.loadManifest(id)), t.expected.get(id), `${id} restores every file`);
    const verify = await verifyBackups(t.ctx(0), { all: true, data: { kind: 'all' } });
    assert.equal(verify.ok, true);
    assert.equal(verify.backups.length, 5);
  });

  it('the newest full and a full younger than 3 days need force', async () => {
    const before = sizeListing(sb.repo);
    const newest = await deleteBackup(t.ctx(0), ids.F3!, {});
    assert.match(newest.refused_reason ?? '', /newest completed full/);
    await assert.rejects(
      deleteBackup(t.ctx(0), ids.F3!, { confirm: true }),
      (e: { code?: string; message?: string }) => e.code === 'DELETE_REFUSED' && /--force/.test(e.message ?? ''),
    );
    await assert.rejects(
      deleteBackup(t.ctx(0), ids.F2!, { confirm: true }),
      (e: { code?: string; message?: string }) => e.code === 'DELETE_REFUSED' && /younger than 3 days/.test(e.message ?? ''),
    );
    assert.deepEqual(sizeListing(sb.repo), before, 'a refused delete changes nothing');

    const young = await deleteBackup(t.ctx(0), ids.F2!, { confirm: true, force: true });
    assert.equal(young.deleted, true);
    const last = await deleteBackup(t.ctx(0), ids.F3!, { confirm: true, force: true });
    assert.equal(last.deleted, true);
    for (const id of [ids.F2, ids.F3]) assert.equal(existsSync(join(sb.repo, 'snapshots', `${id}.json`)), false);
    // now F1 is the newest full: protected in turn
    await assert.rejects(deleteBackup(t.ctx(0), ids.F1!, { confirm: true }), (e: { code?: string }) => e.code === 'DELETE_REFUSED');
    const verify = await verifyBackups(t.ctx(0), { all: true, data: { kind: 'all' } });
    assert.equal(verify.ok, true);
    const repo = await openRepo(sb);
    for (const id of [ids.F1!, ids.I2!, ids.I3!]) assert.deepEqual(await filesOf(repo, await repo.loadManifest(id)), t.expected.get(id));
  });

  it('an unknown id is BACKUP_NOT_FOUND', async () => {
    for (const confirm of [false, true]) {
      await assert.rejects(deleteBackup(t.ctx(0), 'backup_20000101_000000_full', { confirm }), (e: { code?: string }) => e.code === 'BACKUP_NOT_FOUND');
    }
  });
});
