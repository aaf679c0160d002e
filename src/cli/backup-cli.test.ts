import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LocalBackend } from '../backend/index.js';
import { systemClock } from '../core/clock.js';
import { RepositoryLock, type Manifest } from '../repo/index.js';
import { PRISM_BIN, json, prism, prismAsync, prngBytes, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';

describe('prism CLI: init, backup create, list, info, stats', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox({ init: false });
  });
  afterEach(() => sb.cleanup());

  it('follows the SOP quick start: init, full backup, list, info, stats', () => {
    const init = prism(['init'], sb.env);
    assert.equal(init.code, 0, init.stderr);
    const cfg = JSON.parse(readFileSync(join(sb.home, 'config', 'backup.json'), 'utf8'));
    assert.deepEqual(Object.keys(cfg.backup.retention_policy).sort(), [
      'full_backups_age_days',
      'full_backups_count',
      'incremental_backups_age_days',
      'incremental_backups_count',
      'max_total_backups',
      'mysql_base_backups_age_days',
      'mysql_base_backups_count',
      'pg_base_backups_age_days',
      'pg_base_backups_count',
    ]);
    assert.equal(cfg.backup.schedule.full_backup, '0 2 * * 0');
    writeDataset(sb.home, { files: 12 });

    const full = prism(['backup', 'create', '--type', 'full', '--comment', 'Pre-upgrade backup v2.5 -> v3.0'], sb.env);
    assert.equal(full.code, 0, full.stderr);
    const id = /Backup completed: (backup_\d{8}_\d{6}_full(?:_\d+)?)/.exec(full.stdout)?.[1];
    assert.ok(id, full.stdout);
    for (const field of ['Files:', 'Original:', 'Stored:', 'Compression:', 'New data:', 'Duration:', 'Checksum:']) assert.match(full.stdout, new RegExp(field));

    const inc = json<Manifest>(prism(['backup', 'create', '--type', 'incremental', '--comment', 'Daily incremental', '--json'], sb.env));
    assert.equal(inc.type, 'incremental');
    assert.equal(inc.parent, id);

    const list = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    assert.deepEqual(
      list.map((m) => m.type),
      ['incremental', 'full'],
    );
    const fulls = json<Manifest[]>(prism(['backup', 'list', '--type', 'full', '--limit', '1', '--json'], sb.env));
    assert.deepEqual(
      fulls.map((m) => m.id),
      [id],
    );
    assert.equal(json<Manifest[]>(prism(['backup', 'list', '--from', '7 days ago', '--to', 'now', '--json'], sb.env)).length, 2);
    assert.equal(json<Manifest[]>(prism(['backup', 'list', '--to', '2000-01-01', '--json'], sb.env)).length, 0);
    assert.match(prism(['backup', 'list'], sb.env).stdout, /ID\s+TYPE\s+STATUS\s+CREATED/);

    const info = prism(['backup', 'info', id!], sb.env);
    assert.equal(info.code, 0);
    for (const field of ['ID', 'Type', 'Status', 'Created', 'Size', 'Compression', 'Checksum', 'Files', 'Parent', 'Comment', 'Duration', 'Trigger']) {
      assert.match(info.stdout, new RegExp(`^${field}: `, 'm'));
    }
    assert.match(info.stdout, /^Size: [\d.]+ [KM]?B \(original: [\d.]+ [KM]?B\)$/m);
    assert.match(info.stdout, /^Trigger: manual$/m);

    const stats = json<{
      backups: { total: number; by_type: Record<string, number> };
      compression_ratio: number;
      disk: { used_percent: number };
      latest: { id: string };
    }>(prism(['backup', 'stats', '--json'], sb.env));
    assert.equal(stats.backups.total, 2);
    assert.deepEqual(stats.backups.by_type, { full: 1, incremental: 1 });
    assert.ok(stats.compression_ratio > 0.5);
    assert.ok(stats.disk.used_percent > 0);
    assert.equal(stats.latest.id, inc.id);
    assert.match(prism(['backup', 'stats'], sb.env).stdout, /Deduplication: 2\.00x/);
    const log = readFileSync(join(sb.home, 'logs', 'backup.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(log.some((l) => l.event === 'backup.done' && l.id === id));
  });

  it('rejects wrong flags and values with ERR_PRISM_ARGS and exit code 2', () => {
    prism(['init'], sb.env);
    const cases: Array<[string[], RegExp]> = [
      [['backup', 'create', '--type', 'differential'], /--type "differential"/],
      [['backup', 'create', '--bogus'], /unknown option '--bogus'/],
      [['backup', 'list', '--from', 'banana'], /--from "banana" is not a date/],
      [['backup', 'list', '--to', '2026-13-45'], /--to "2026-13-45" is not a date/],
      [['backup', 'list', '--limit', 'x'], /--limit "x"/],
      [['backup', 'list', '--type', 'weekly'], /--type "weekly"/],
      [['backup', 'list', '--from', 'now', '--to', '7 days ago'], /is after --to/],
      [['backup', 'create', '--lock-wait', 'forever'], /--lock-wait "forever"/],
      [['backup', 'frobnicate'], /unknown command/],
    ];
    for (const [args, msg] of cases) {
      const r = prism(args, sb.env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /ERR_PRISM_ARGS/);
      assert.match(r.stderr, msg);
    }
    const j = prism(['backup', 'create', '--type', 'x', '--json'], sb.env);
    assert.equal(json<{ error: { code: string } }>(j).error.code, 'ERR_PRISM_ARGS');
    assert.equal(existsSync(sb.repo), false, 'no repository created by bad input');
  });

  it('a reader that goes away (prism … | true) ends the command quietly, without a stack trace', () => {
    prism(['init'], sb.env);
    writeDataset(sb.home, { files: 2 });
    assert.equal(prism(['backup', 'create'], sb.env).code, 0);
    const r = spawnSync('bash', ['-c', `"${process.execPath}" "${PRISM_BIN}" backup stats | true; echo "rc=\${PIPESTATUS[0]}" >&2`], {
      env: { ...process.env, ...sb.env },
      encoding: 'utf8',
    });
    assert.doesNotMatch(r.stderr, /EPIPE|at /);
    assert.match(r.stderr, /rc=0/);
  });

  it('unknown ids and a missing repository give clear errors', () => {
    prism(['init'], sb.env);
    const noRepo = prism(['backup', 'info', 'backup_20260207_020015_full'], sb.env);
    assert.equal(noRepo.code, 7);
    assert.match(noRepo.stderr, /ERR_PRISM_NO_REPO/);
    writeDataset(sb.home, { files: 1 });
    assert.equal(prism(['backup', 'create'], sb.env).code, 0);
    const unknown = prism(['backup', 'info', 'backup_20200101_000000_full'], sb.env);
    assert.equal(unknown.code, 4);
    assert.match(unknown.stderr, /ERR_PRISM_NOT_FOUND.*backup_20200101_000000_full/);
    const garbage = prism(['backup', 'info', '../../etc/passwd'], sb.env);
    assert.equal(garbage.code, 4);
    assert.match(garbage.stderr, /not a backup id/);
    const typo = prism(['backup', 'list'], { ...sb.env, PRISM_BACKUP_PATH: join(sb.root, 'nothing') });
    assert.equal(typo.code, 7);
    assert.match(typo.stderr, new RegExp(`ERR_PRISM_NO_REPO\\] No prism repository at ${join(sb.root, 'nothing')}: the directory does not exist`));
  });

  it('damaged manifests: list names them as DAMAGED and exits 8 (--json too), never "No backups found."', () => {
    prism(['init'], sb.env);
    writeDataset(sb.home, { files: 2 });
    const good = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
    const bad = 'backup_20260101_020000_full';
    writeFileSync(join(sb.repo, 'snapshots', `${bad}.json`), '{"format": 1, "id": "backup_2026');
    const r = prism(['backup', 'list'], sb.env);
    assert.equal(r.code, 8, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${good.id} +full +completed `, 'm'));
    assert.match(r.stdout, new RegExp(`^${bad} +- +DAMAGED +.*manifest cannot be read$`, 'm'));
    assert.match(r.stderr, /^Error \[ERR_PRISM_REPO_CORRUPT\] 1 manifest\(s\) cannot be read/m);
    assert.match(r.stderr, new RegExp(`Manifest snapshots/${bad}\\.json is not valid JSON`));
    const j = prism(['backup', 'list', '--json'], sb.env);
    assert.equal(j.code, 8);
    assert.deepEqual(
      json<Array<{ id: string; status: string }>>(j).map((x) => [x.id, x.status]),
      [
        [good.id, 'completed'],
        [bad, 'damaged'],
      ],
    );
    // only damaged manifests: still not "No backups found."
    writeFileSync(join(sb.repo, 'snapshots', `${good.id}.json`), 'garbage');
    const only = prism(['backup', 'list'], sb.env);
    assert.equal(only.code, 8);
    assert.doesNotMatch(only.stdout, /No backups found/);
    assert.match(only.stderr, /2 manifest\(s\) cannot be read/);
  });

  it('a broken config names the key, the value and what is expected', () => {
    prism(['init'], sb.env);
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { compression: { enabled: true, level: 'max' } } }));
    const r = prism(['backup', 'create', '--type', 'full'], sb.env);
    assert.equal(r.code, 3);
    assert.match(r.stderr, /ERR_PRISM_CONFIG.*backup\.compression\.level = "max": expected number/);
    writeFileSync(join(sb.home, 'config', 'backup.json'), '{"backup": {');
    assert.match(prism(['backup', 'list'], sb.env).stderr, /ERR_PRISM_CONFIG.*not valid JSON/);
    writeFileSync(join(sb.home, 'config', 'backup.json'), '{}');
    const env = prism(['backup', 'list'], { ...sb.env, PRISM_BACKUP_CONCURRENCY: 'lots' });
    assert.match(env.stderr, /PRISM_BACKUP_CONCURRENCY = "lots"/);
    assert.equal(existsSync(sb.repo), false);
  });

  it('an unreadable file makes a partial backup with ERR_BACKUP_002 and a non-zero exit', () => {
    prism(['init'], sb.env);
    const n = writeDataset(sb.home, { files: 4 }) + 1; // + config/backup.json
    const secret = join(sb.home, 'level-1-hot', 'secret.json');
    writeFileSync(secret, '{"k":1}');
    execFileSync('chown', ['-R', 'nobody:nogroup', sb.root]);
    chownSync(secret, 0, 0);
    chmodSync(secret, 0o600);
    const r = prism(['backup', 'create', '--type', 'full', '--json'], sb.env, { uid: 65534, gid: 65534 });
    assert.equal(r.code, 12, r.stderr);
    const m = json<Manifest>(r);
    assert.equal(m.status, 'partial');
    assert.equal(m.error!.code, 'ERR_BACKUP_002');
    assert.ok(m.warnings.some((w) => w.path === secret && w.code === 'PERMISSION_DENIED'));
    assert.equal(m.stats.files, n, 'everything else is in the backup');
  });

  it('an unwritable repository fails with ERR_BACKUP_002', () => {
    prism(['init'], sb.env);
    writeDataset(sb.home, { files: 2 });
    mkdirSync(sb.repo);
    chmodSync(sb.repo, 0o555);
    chmodSync(sb.root, 0o755);
    execFileSync('chown', ['-R', 'nobody:nogroup', sb.home]);
    const r = prism(['backup', 'create', '--type', 'full'], sb.env, { uid: 65534, gid: 65534 });
    assert.equal(r.code, 12, r.stderr);
    assert.match(r.stderr, /ERR_BACKUP_002/);
  });

  it('a second backup while one runs fails with ERR_PRISM_LOCKED naming the holder, and nothing is lost', async () => {
    prism(['init'], sb.env);
    writeDataset(sb.home, { files: 3 });
    assert.equal(prism(['backup', 'create'], sb.env).code, 0);
    const lock = await RepositoryLock.acquire(new LocalBackend(sb.repo), { kind: 'backup', command: 'prism backup create --type full', clock: systemClock });
    try {
      const r = prism(['backup', 'create', '--type', 'incremental'], sb.env);
      assert.equal(r.code, 6);
      assert.match(r.stderr, new RegExp(`ERR_PRISM_LOCKED.*pid ${process.pid}`));
    } finally {
      await lock.release();
    }
    const list = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    assert.deepEqual(
      list.map((m) => m.status),
      ['completed'],
    );
    assert.equal(prism(['backup', 'create', '--type', 'incremental'], sb.env).code, 0);
  });

  it('two backups started together: the loser says who holds the lock; the repository stays consistent', async () => {
    prism(['init'], sb.env);
    writeFileSync(join(sb.home, 'level-3-cold', 'blob.bin'), prngBytes(24 * 1024 * 1024, 3));
    const run = (p: ReturnType<typeof prismAsync>) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        let stderr = '';
        p.stderr.on('data', (d) => (stderr += d));
        p.on('close', (code) => resolve({ code: code ?? -1, stderr }));
      });
    const [a, b] = await Promise.all([run(prismAsync(['backup', 'create'], sb.env)), run(prismAsync(['backup', 'create'], sb.env))]);
    const codes = [a.code, b.code].sort();
    assert.ok(codes[0] === 0, `one backup succeeds: ${a.stderr} ${b.stderr}`);
    if (codes[1] !== 0) {
      assert.equal(codes[1], 6, a.stderr + b.stderr);
      assert.match(a.stderr + b.stderr, /ERR_PRISM_LOCKED/);
    }
    const list = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    assert.ok(
      list.every((m) => m.status === 'completed'),
      JSON.stringify(list.map((m) => [m.status, m.error])) + a.stderr + b.stderr,
    );
  });

  it('a backup killed mid-write shows as failed, leaves earlier backups intact, and the next run succeeds', async () => {
    prism(['init'], sb.env);
    writeDataset(sb.home, { files: 3 });
    assert.equal(prism(['backup', 'create'], sb.env).code, 0);
    writeFileSync(join(sb.home, 'level-3-cold', 'blob.bin'), prngBytes(96 * 1024 * 1024, 4));
    const child = prismAsync(['backup', 'create', '--type', 'incremental'], sb.env);
    await new Promise<void>((resolve) => {
      const poll = setInterval(() => {
        if (existsSync(join(sb.repo, 'data')) && readdirSync(join(sb.repo, 'data'), { recursive: true }).some((n) => String(n).includes('.tmp-'))) {
          clearInterval(poll);
          child.kill('SIGKILL');
          resolve();
        }
      }, 5);
    });
    await new Promise((r) => child.on('close', r));
    const list = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    assert.equal(list[0]!.status, 'failed');
    assert.equal(list[0]!.error!.code, 'ERR_PRISM_INTERRUPTED');
    assert.equal(list[1]!.status, 'completed');
    const next = json<Manifest>(prism(['backup', 'create', '--type', 'incremental', '--json'], sb.env));
    assert.equal(next.status, 'completed');
    assert.equal(next.parent, list[1]!.id);
    const after = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    assert.equal(after.find((m) => m.id === list[0]!.id)!.status, 'failed', 'the interrupted attempt is recorded for good');
  });
});
