import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalBackend } from '../backend/index.js';
import { createBackup } from '../app/backups/create-backup.js';
import { FixedClock, systemClock } from '../core/clock.js';
import { RepositoryLock, type Manifest } from '../repo/index.js';
import { appContext, hashTree, json, prism, prismAsync, prngBytes, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';

function run(
  args: string[],
  env: Record<string, string>,
  onStderr: (text: string) => void = () => {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = prismAsync(args, env);
  let stdout = '';
  let stderr = '';
  p.stdout.on('data', (d) => (stdout += d));
  p.stderr.on('data', (d) => {
    stderr += d;
    onStderr(stderr);
  });
  return new Promise((resolve) => p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr })));
}

/** The pid of a process that has exited (so a lock naming it is stale). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('prism backup policy / cleanup / delete / prune / failures (CLI)', () => {
  let sb: Sandbox;
  before(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 12, seed: 4 });
    assert.equal(prism(['backup', 'create', '--type', 'full'], sb.env).code, 0);
  });
  after(() => sb.cleanup());

  it('rejects wrong flags and values with ERR_PRISM_ARGS and exit 2', () => {
    const cases: Array<[string[], RegExp]> = [
      [['backup', 'cleanup', '--bogus'], /unknown option '--bogus'/],
      [['backup', 'prune', '--max-unused', '150%'], /--max-unused "150%"/],
      [['backup', 'prune', '--max-unused', 'x'], /--max-unused "x"/],
      [['backup', 'prune', '--max-unused', '-5%'], /--max-unused|unknown option/],
      [['backup', 'failures', '--days', '0'], /--days "0"/],
      [['backup', 'failures', '--days', 'x'], /--days "x"/],
      [['backup', 'delete'], /missing required argument/],
      [['backup', 'cleanup', '--lock-wait', 'forever'], /--lock-wait "forever"/],
      [['backup', 'policy', '--bogus'], /unknown option '--bogus'/],
      [['mysql', 'expire', '--bogus'], /unknown option '--bogus'/],
      [['mysql', 'expire', '--lock-wait', 'x'], /--lock-wait "x"/],
    ];
    const before = hashTree(sb.repo, []);
    for (const [args, msg] of cases) {
      const r = prism(args, sb.env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout} ${r.stderr}`);
      assert.match(r.stderr, /ERR_PRISM_ARGS/, args.join(' '));
      assert.match(r.stderr, msg, args.join(' '));
    }
    const j = prism(['backup', 'prune', '--max-unused', '150%', '--json'], sb.env);
    assert.equal(j.code, 2);
    assert.equal(json<{ error: { code: string } }>(j).error.code, 'ERR_PRISM_ARGS');
    assert.deepEqual(hashTree(sb.repo, []), before, 'bad command lines change nothing');
  });

  it('delete of an unknown id exits 4; commands on a missing repository exit 7', () => {
    const unknown = prism(['backup', 'delete', 'backup_20000101_000000_full', '--confirm'], sb.env);
    assert.equal(unknown.code, 4, unknown.stderr);
    assert.match(unknown.stderr, /ERR_PRISM_NOT_FOUND.*backup_20000101_000000_full/);
    const missing = { ...sb.env, PRISM_BACKUP_PATH: join(sb.root, 'no-repo-here') };
    for (const args of [
      ['backup', 'cleanup'],
      ['backup', 'cleanup', '--dry-run'],
      ['backup', 'prune'],
      ['backup', 'prune', '--dry-run'],
      ['backup', 'delete', 'backup_20000101_000000_full', '--confirm'],
      ['mysql', 'expire'],
      ['mysql', 'binlog', 'list'],
    ]) {
      const r = prism(args, missing);
      assert.equal(r.code, 7, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /ERR_PRISM_NO_REPO/);
    }
    assert.equal(existsSync(join(sb.root, 'no-repo-here')), false, 'no repository is created by them');
  });

  it('policy prints the SOP YAML shape with the effective values', () => {
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { retention_policy: { full_backups_count: 4, max_total_backups: 20 } } }));
    try {
      const r = prism(['backup', 'policy'], sb.env);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.split('\n');
      const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
      const order = [
        /^retention_policy:\s*$/,
        /^ {2}full_backups:\s*$/,
        /^ {4}count: 4\b.*file/,
        /^ {4}age_days: 7\b.*default/,
        /^ {2}incremental_backups:\s*$/,
        /^ {4}count: 30\b/,
        /^ {4}age_days: 30\b/,
        /^ {2}max_total_backups: 20\b.*file/,
      ].map(at);
      assert.ok(
        order.every((i) => i >= 0),
        r.stdout,
      );
      assert.deepEqual(
        [...order].sort((a, b) => a - b),
        order,
        `in the SOP's order:\n${r.stdout}`,
      );
      const p = json<{ retention_policy: { full_backups: { count: number } }; origins: Record<string, string> }>(prism(['backup', 'policy', '--json'], sb.env));
      assert.equal(p.retention_policy.full_backups.count, 4);
      assert.equal(p.origins.full_backups_count, 'file');
      assert.equal(p.origins.incremental_backups_count, 'default');
    } finally {
      rmSync(join(sb.home, 'config', 'backup.json'), { force: true });
    }
  });

  it('failures lists a failed attempt with its code and fix; stats shows the 30-day failure rate', () => {
    const dir = join(sb.home, 'level-2-warm');
    renameSync(dir, `${dir}.away`);
    let failed;
    try {
      failed = prism(['backup', 'create', '--type', 'incremental'], sb.env);
    } finally {
      renameSync(`${dir}.away`, dir);
    }
    assert.equal(failed.code, 13, failed.stderr);
    assert.match(failed.stderr, /ERR_BACKUP_003/);
    const r = prism(['backup', 'failures', '--days', '7'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /1 failed or partial of \d+ attempts/);
    assert.match(r.stdout, /backup_\d{8}_\d{6}_incremental(?:_\d+)?\s+failed\s+\[ERR_BACKUP_003\] Source directory not found/);
    assert.match(r.stdout, /Fix: Check the configured paths: PRISM_HOME and backup\.sources\.include/);
    const j = json<{ failures: Array<{ code: string; fix: string; status: string }>; failure_rate: number }>(
      prism(['backup', 'failures', '--days', '7', '--json'], sb.env),
    );
    assert.equal(j.failures.length, 1);
    assert.equal(j.failures[0]!.code, 'ERR_BACKUP_003');
    assert.match(j.failures[0]!.fix, /backup\.sources\.include/);
    assert.ok(j.failure_rate > 0 && j.failure_rate < 1);
    const stats = json<{ failure_rate_30d: number }>(prism(['backup', 'stats', '--json'], sb.env));
    assert.ok(stats.failure_rate_30d > 0, JSON.stringify(stats));
  });

  it('delete without --confirm only reports; the newest full needs --force (exit 20, ERR_PRISM_DELETE_REFUSED)', () => {
    const list = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    const full = list.find((m) => m.type === 'full' && m.status === 'completed')!;
    const dry = prism(['backup', 'delete', full.id], sb.env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Nothing deleted/);
    assert.match(dry.stdout, /newest completed full backup; deleting it needs --force/);
    const refused = prism(['backup', 'delete', full.id, '--confirm'], sb.env);
    assert.equal(refused.code, 20, refused.stderr);
    assert.match(refused.stderr, /ERR_PRISM_DELETE_REFUSED.*--force/);
    assert.ok(existsSync(join(sb.repo, 'snapshots', `${full.id}.json`)));
  });

  it("a refused delete's Fix line tells how to delete (--force), not how to restore", () => {
    const full = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env)).find((m) => m.type === 'full' && m.status === 'completed')!;
    const refused = prism(['backup', 'delete', full.id, '--confirm'], sb.env);
    assert.equal(refused.code, 20);
    const fix = /Fix: (.*)/.exec(refused.stderr)?.[1] ?? '';
    assert.doesNotMatch(fix, /restore/i, `the Fix line is about restores: ${fix}`);
    assert.match(fix, /--force/);
  });
});

describe('maintenance commands and the repository lock', () => {
  let sb: Sandbox;
  before(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 8, seed: 6 });
    writeFileSync(join(sb.home, 'level-3-cold', 'a.bin'), prngBytes(600 * 1024, 1));
    assert.equal(prism(['backup', 'create', '--type', 'full'], sb.env).code, 0);
    rmSync(join(sb.home, 'level-3-cold', 'a.bin'));
    assert.equal(prism(['backup', 'create', '--type', 'full'], sb.env).code, 0);
  });
  after(() => sb.cleanup());

  it('prune, cleanup and the archive expiries fail at once with ERR_PRISM_LOCKED naming the holder while a backup runs', async () => {
    const lock = await RepositoryLock.acquire(new LocalBackend(sb.repo), { kind: 'backup', command: 'prism backup create --type full', clock: systemClock });
    try {
      for (const args of [
        ['backup', 'prune'],
        ['backup', 'cleanup'],
        ['backup', 'prune', '--dry-run'],
        ['backup', 'cleanup', '--dry-run'],
        ['pg', 'expire'],
        ['mysql', 'expire', '--dry-run'],
      ]) {
        const r = prism(args, sb.env);
        assert.equal(r.code, 6, `${args.join(' ')}: ${r.stderr}`);
        assert.match(r.stderr, /ERR_PRISM_LOCKED/);
        assert.match(r.stderr, new RegExp(`prism backup create --type full.*pid ${process.pid} on ${hostname()}`));
      }
      assert.equal(existsSync(join(sb.repo, 'locks', 'exclusive.json')), false, 'the refused command left no lock behind');
    } finally {
      await lock.release();
    }
  });

  it('with --lock-wait they wait for the backup and then succeed', async () => {
    for (const cmd of ['prune', 'cleanup']) {
      const lock = await RepositoryLock.acquire(new LocalBackend(sb.repo), { kind: 'backup', command: 'prism backup create --type full', clock: systemClock });
      // the lock goes once the command says it waits (however slow its start-up on a busy machine)
      let released: Promise<void> | undefined;
      const r = await run(['backup', cmd, '--lock-wait', '30s', '--json'], sb.env, (text) => {
        if (!released && text.includes('Waiting for the repository lock')) released = lock.release();
      });
      await released;
      assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
      assert.match(
        r.stderr,
        new RegExp(`Waiting for the repository lock held by \`prism backup create --type full\` \\(pid ${process.pid}`),
        'says whom it waits for',
      );
      assert.equal(json<{ dry_run: boolean }>(r).dry_run, false);
    }
    const list = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    assert.equal(list.length, 2, 'manual backups survive cleanup');
    assert.equal(prism(['backup', 'verify', '--all'], sb.env).code, 0);
  });

  it('a stale lock of a dead process does not block prune', () => {
    const pid = deadPid();
    const now = new Date().toISOString();
    const info = (kind: string) => JSON.stringify({ kind, pid, host: hostname(), command: 'prism backup create --type full', created: now, refreshed: now });
    mkdirSync(join(sb.repo, 'locks'), { recursive: true });
    const backupLock = `backup-${encodeURIComponent(hostname())}.json`; // this host's backup lock
    writeFileSync(join(sb.repo, 'locks', backupLock), info('backup'));
    writeFileSync(join(sb.repo, 'locks', 'shared-0123456789abcdef01234567.json'), info('backup'));
    writeFileSync(join(sb.repo, 'locks', 'exclusive.json'), info('exclusive'));
    // leftovers of the dead process's prune: an unindexed pack
    const data = join(sb.repo, 'data');
    const [dir] = readdirSync(data);
    const [pack] = readdirSync(join(data, dir!));
    const orphan = `${dir}${'f'.repeat(62)}`;
    copyFileSync(join(data, dir!, pack!), join(data, dir!, orphan));
    const r = prism(['backup', 'prune', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(json<{ orphanPacks: string[] }>(r).orphanPacks, [`data/${orphan.slice(0, 2)}/${orphan}`]);
    assert.deepEqual(
      readdirSync(join(sb.repo, 'locks')).filter((n) => n !== backupLock),
      [],
      'the stale shared and exclusive locks are gone and prune released its own',
    );
    // prune never needs a backup lock; this host's next backup removes the dead one and runs
    assert.equal(prism(['backup', 'create', '--type', 'incremental'], sb.env).code, 0);
    assert.deepEqual(readdirSync(join(sb.repo, 'locks')), []);
  });
});

describe('prism backup cleanup and backups dated in the future (CLI)', () => {
  const DAY = 86_400_000;
  let sb: Sandbox;
  const genuine: Manifest[] = [];
  const fakes: string[] = [];
  before(async () => {
    sb = sandbox();
    writeDataset(sb.home, { files: 6, seed: 9 });
    // two full backups kept, by count only (both are older than the 7-day age limit)
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({ backup: { retention_policy: { full_backups_count: 2, full_backups_age_days: 7 } } }),
    );
    // the genuine backups, scheduled as the service makes them, 20 and 10 days ago
    for (const daysAgo of [20, 10]) {
      const m = await createBackup(appContext(sb, {}, new FixedClock(new Date(Date.now() - daysAgo * DAY))), { type: 'full', trigger: 'scheduled' });
      assert.equal(m.status, 'completed');
      genuine.push(m);
    }
    // someone who can write into the (unencrypted) repository adds copies of the newest one, dated 30 and 60 days ahead
    const copied = JSON.parse(readFileSync(join(sb.repo, 'snapshots', `${genuine[1]!.id}.json`), 'utf8')) as Manifest;
    for (const daysAhead of [30, 60]) {
      const at = new Date(Date.now() + daysAhead * DAY);
      const id = `backup_${at.toISOString().replace(/\D/g, '').slice(0, 8)}_${at.toISOString().replace(/\D/g, '').slice(8, 14)}_full`;
      const fake = { ...copied, id, started_at: at.toISOString(), finished_at: new Date(at.getTime() + 5000).toISOString() };
      writeFileSync(join(sb.repo, 'snapshots', `${id}.json`), JSON.stringify(fake, null, 2));
      fakes.unshift(id);
    }
  });
  after(() => sb.cleanup());

  it('cleanup keeps the genuine backups the fakes would have pushed out of the count, and warns naming each fake', () => {
    const dry = prism(['backup', 'cleanup', '--dry-run', '--json'], sb.env);
    assert.equal(dry.code, 0, dry.stderr);
    const plan = json<{ removed: string[]; future_dated: Array<{ id: string; started_at: string }>; decisions: Array<{ id: string; reasons: string[] }> }>(dry);
    assert.deepEqual(plan.removed, []);
    assert.deepEqual(
      plan.future_dated.map((f) => f.id),
      fakes,
    );
    for (const id of fakes) {
      assert.match(plan.decisions.find((d) => d.id === id)!.reasons[0]!, /^dated in the future .*: not counted, not deleted$/);
      assert.match(dry.stderr, new RegExp(`WARNING: backup ${id} \\(host .*\\) is dated in the future`));
      assert.match(dry.stderr, new RegExp(`prism backup info ${id}\`.*prism backup delete ${id} --confirm`));
    }
    const r = prism(['backup', 'cleanup'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /No backup expires under the retention policy/);
    assert.match(r.stdout, /^4 kept, 0 removed$/m);
    for (const id of fakes) assert.match(r.stderr, new RegExp(`WARNING: backup ${id} .*dated in the future`));
    for (const m of genuine) assert.equal(existsSync(join(sb.repo, 'snapshots', `${m.id}.json`)), true, `${m.id} kept`);
    const logged = readFileSync(join(sb.home, 'logs', 'backup.log'), 'utf8')
      .split('\n')
      .filter((l) => l.includes('"retention.future_backup"'))
      .map((l) => (JSON.parse(l) as { id: string }).id);
    assert.deepEqual(logged, [...fakes, ...fakes], 'logged by the dry run and the real run');
  });

  it('a copy of a genuine manifest under another name, dated back, does not get the genuine one removed: cleanup refuses', () => {
    const target = genuine[1]!;
    const copy = join(sb.repo, 'snapshots', 'backup_20000101_000000_full.json');
    writeFileSync(copy, JSON.stringify({ ...target, started_at: '2000-01-01T00:00:00.000Z', finished_at: '2000-01-01T00:00:05.000Z' }, null, 2));
    try {
      const r = prism(['backup', 'cleanup'], sb.env);
      assert.equal(r.code, 8, r.stderr);
      assert.match(
        r.stderr,
        /ERR_PRISM_REPO_CORRUPT\] cleanup stopped before changing anything: manifest\(s\) snapshots\/backup_20000101_000000_full\.json cannot be read/,
      );
      assert.equal(existsSync(join(sb.repo, 'snapshots', `${target.id}.json`)), true, 'the genuine backup is kept');
    } finally {
      rmSync(copy);
    }
  });

  it('the alerts name them; deleted as the warning says, the genuine backups verify and cleanup is quiet again', () => {
    const alerts = json<{ active: Array<{ key: string; severity: string; message: string }> }>(prism(['alerts', '--json'], sb.env));
    const future = alerts.active.find((a) => a.key === 'future_backups');
    assert.ok(future, JSON.stringify(alerts.active));
    assert.equal(future.severity, 'high');
    for (const id of fakes) assert.match(future.message, new RegExp(id));
    for (const id of fakes) {
      const d = prism(['backup', 'delete', id, '--confirm'], sb.env);
      assert.equal(d.code, 0, d.stderr);
    }
    assert.deepEqual(
      json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env)).map((m) => m.id),
      [genuine[1]!.id, genuine[0]!.id],
    );
    assert.equal(prism(['backup', 'verify', '--all'], sb.env).code, 0);
    const again = prism(['backup', 'cleanup'], sb.env);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /dated in the future/);
    assert.match(again.stdout, /^2 kept, 0 removed$/m);
  });
});
