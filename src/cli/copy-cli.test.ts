import assert from 'node:assert/strict';
import { appendFileSync, cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CopyReport } from '../app/copies/copy-backups.js';
import type { Manifest } from '../repo/index.js';
import { execFileSync } from 'node:child_process';
import type { CopyStatus } from '../app/copies/copy-status.js';
import type { Alert, BackupHealth, BackupStats, DrillRecord } from '../app/index.js';
import { freePort } from '../testing/free-port.js';
import { hashTree, json, prism, prismAsync, prngBytes, sandbox, waitFor, writeDataset, type CliResult, type Sandbox } from '../testing/fixtures.js';

const MiB = 1024 * 1024;

/** Files under `dir` (recursively), relative names. */
function filesUnder(dir: string, prefix = ''): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

describe('prism backup copy to a second disk (CLI)', () => {
  let sb: Sandbox;
  let copyDir: string;
  let full: Manifest;
  let inc: Manifest;
  const cli = (args: string[], extra: Record<string, string> = {}): CliResult => prism(args, { ...sb.env, ...extra });
  const ok = (args: string[]): CliResult => {
    const r = cli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };

  before(() => {
    sb = sandbox();
    copyDir = join(sb.root, 'second-disk');
    writeDataset(sb.home, { files: 30 });
    writeFileSync(join(sb.home, 'level-3-cold', 'big.bin'), prngBytes(20 * MiB, 5));
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({ backup: { copies: [{ name: 'second-disk', repository: copyDir, keep: { full_backups_count: 2 } }] } }),
    );
    full = json<Manifest>(ok(['backup', 'create', '--type', 'full', '--json']));
    appendFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), ' ');
    inc = json<Manifest>(ok(['backup', 'create', '--type', 'incremental', '--json']));
  });
  after(() => sb?.cleanup());

  it('copies a backup with the backups it builds on, then the rest; a second run moves nothing', () => {
    const first = json<CopyReport>(ok(['backup', 'copy', inc.id, '--json']));
    assert.deepEqual(first.copied, [full.id, inc.id]);
    assert.equal(first.copy, 'second-disk');
    assert.ok(first.packs_copied >= 2 && first.bytes_copied > 20 * MiB, JSON.stringify(first));
    const again = json<CopyReport>(ok(['backup', 'copy', '--all', '--to', 'second-disk', '--json']));
    assert.deepEqual([again.copied, again.already_there, again.packs_copied, again.bytes_copied], [[], 2, 0, 0]);
    // the packs are the primary's, byte for byte
    const packs = filesUnder(join(sb.repo, 'data'));
    assert.deepEqual(filesUnder(join(copyDir, 'data')).sort(), packs.sort());
    for (const p of packs) assert.ok(readFileSync(join(copyDir, 'data', p)).equals(readFileSync(join(sb.repo, 'data', p))), p);
  });

  it('after a small change, only the new data moves', () => {
    const before = filesUnder(join(copyDir, 'data')).reduce((n, p) => n + statSync(join(copyDir, 'data', p)).size, 0);
    writeFileSync(join(sb.home, 'level-2-warm', 'new.json'), JSON.stringify({ added: true }));
    const next = json<Manifest>(ok(['backup', 'create', '--type', 'incremental', '--json']));
    const r = json<CopyReport>(ok(['backup', 'copy', '--all', '--json']));
    assert.deepEqual(r.copied, [next.id]);
    assert.ok(r.packs_copied <= 2 && r.bytes_copied < before * 0.02, JSON.stringify(r));
  });

  it('with the primary gone, the copy lists, verifies and restores byte for byte (--repo NAME)', () => {
    const saved = join(sb.root, 'primary-saved');
    cpSync(sb.repo, saved, { recursive: true });
    rmSync(sb.repo, { recursive: true });
    try {
      const listed = json<Manifest[]>(ok(['backup', 'list', '--repo', 'second-disk', '--json'])).map((m) => m.id);
      assert.ok(listed.includes(full.id) && listed.includes(inc.id), listed.join());
      const verified = json<{ ok: boolean; backups: unknown[] }>(ok(['backup', 'verify', '--all', '--repo', 'second-disk', '--json']));
      assert.equal(verified.ok, true);
      assert.equal(verified.backups.length, listed.length);
      const target = join(sb.root, 'restored');
      ok(['backup', 'restore', listed[0]!, '--repo', 'second-disk', '--target', target]);
      const restored = hashTree(target);
      for (const [path, sum] of hashTree(sb.home, ['logs', 'temp', 'config', 'state'])) assert.equal(restored.get(path), sum, path);
      assert.equal(json<Manifest>(ok(['backup', 'info', inc.id, '--repo', 'second-disk', '--json'])).id, inc.id);
      // the copy's own retention: keep.full_backups_count is 2 there
      const policy = (r: CliResult) => json<{ retention_policy: { full_backups: { count: number } } }>(r).retention_policy.full_backups.count;
      assert.equal(policy(ok(['backup', 'policy', '--repo', 'second-disk', '--json'])), 2);
      assert.equal(policy(ok(['backup', 'policy', '--json'])), 7);
    } finally {
      cpSync(saved, sb.repo, { recursive: true });
    }
  });

  it('refuses a location that holds another repository, or other files, and writes nothing there', () => {
    const other = sandbox();
    try {
      writeDataset(other.home, { files: 3 });
      prism(['backup', 'create', '--type', 'full'], other.env);
      const before = filesUnder(other.repo).sort();
      const r = cli(['backup', 'copy', '--all', '--to', other.repo]);
      assert.equal(r.code, 56, r.stdout + r.stderr);
      assert.match(r.stderr, /another repository/);
      assert.deepEqual(
        filesUnder(other.repo)
          .filter((f) => !f.startsWith('locks/'))
          .sort(),
        before.filter((f) => !f.startsWith('locks/')),
      );
      const stranger = join(sb.root, 'not-empty');
      cpSync(join(sb.home, 'config'), stranger, { recursive: true });
      const s = cli(['backup', 'copy', '--all', '--to', stranger]);
      assert.equal(s.code, 56, s.stdout + s.stderr);
      assert.ok(!existsSync(join(stranger, 'config.json')));
      assert.equal(cli(['backup', 'copy', '--all', '--to', 'no-such-copy']).code, 2);
      for (const args of [
        ['backup', 'copy', full.id, '--all'],
        ['backup', 'copy'],
        ['backup', 'copy', 'backup_20990101_000000_full', '--to', 'second-disk'],
      ]) {
        const bad = cli([...args, '--json']);
        assert.notEqual(bad.code, 0, args.join(' '));
        assert.match(json<{ error: { code: string } }>(bad).error.code, /^ERR_/, args.join(' '));
      }
      assert.equal(cli(['backup', 'copy', '--all', '--to', sb.repo]).code, 2);
    } finally {
      other.cleanup();
    }
  });

  it('does not carry a damaged pack into a copy', () => {
    const dest = join(sb.root, 'third-disk');
    const packs = filesUnder(join(sb.repo, 'data')).map((p) => join(sb.repo, 'data', p));
    const victim = packs.sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    const original = readFileSync(victim);
    const flipped = Buffer.from(original);
    flipped[Math.floor(flipped.length / 2)]! ^= 0x20;
    writeFileSync(victim, flipped);
    try {
      const r = cli(['backup', 'copy', '--all', '--to', dest]);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(r.stderr, /damaged/);
      assert.deepEqual(
        filesUnder(dest).filter((f) => f.startsWith('snapshots/')),
        [],
      );
      assert.ok(!filesUnder(dest).some((f) => f.endsWith(victim.slice(victim.lastIndexOf('/') + 1))));
    } finally {
      writeFileSync(victim, original);
    }
    // once repaired, the same copy finishes and verifies
    const r = json<CopyReport>(ok(['backup', 'copy', '--all', '--to', dest, '--json']));
    assert.ok(r.copied.length >= 2);
    assert.equal(json<{ ok: boolean }>(ok(['backup', 'verify', '--all', '--repo', dest, '--json'])).ok, true);
  });
});

describe('a copy killed half-way (kill -9)', () => {
  let sb: Sandbox;
  before(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 5 });
    for (let i = 0; i < 8; i++) writeFileSync(join(sb.home, 'level-3-cold', `big-${i}.bin`), prngBytes(20 * MiB, 40 + i));
    const r = prism(['backup', 'create', '--type', 'full'], sb.env);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => sb?.cleanup());

  it('leaves a valid copy with no half backup, and the next run finishes without moving the packs again', async () => {
    const dest = join(sb.root, 'copy');
    const child = prismAsync(['backup', 'copy', '--all', '--to', dest], sb.env);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    await waitFor('a first pack in the copy', () => filesUnder(join(dest, 'data')).some((f) => !f.includes('.tmp-')), 30_000);
    child.kill('SIGKILL');
    assert.equal(await exited, 'SIGKILL', 'the copy finished before it could be killed');
    assert.deepEqual(
      filesUnder(dest).filter((f) => f.startsWith('snapshots/') || f.startsWith('index/')),
      [],
    );
    const listed = json<Manifest[]>(prism(['backup', 'list', '--repo', dest, '--json'], sb.env));
    assert.deepEqual(listed, []);
    const r = json<CopyReport>(prism(['backup', 'copy', '--all', '--to', dest, '--json'], sb.env));
    assert.equal(r.copied.length, 1);
    assert.ok(r.packs_present >= 1, JSON.stringify(r));
    const v = prism(['backup', 'verify', '--all', '--repo', dest, '--json'], sb.env);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});

describe('a copy with a key of its own (password_file)', () => {
  let sb: Sandbox;
  let copyDir: string;
  let env: Record<string, string>;
  before(async () => {
    sb = sandbox();
    copyDir = join(sb.root, 'own-key');
    const { TEST_PASSWORD, initEncrypted } = await import('../testing/encrypted.js');
    await initEncrypted(sb);
    writeFileSync(join(sb.root, 'password'), TEST_PASSWORD, { mode: 0o600 });
    writeFileSync(join(sb.root, 'copy-password'), 'another password for the copy', { mode: 0o600 });
    env = { ...sb.env, PRISM_PASSWORD_FILE: join(sb.root, 'password'), PRISM_KDF_MINIMUM: '1' };
    writeDataset(sb.home, { files: 20 });
    writeFileSync(join(sb.home, 'level-3-cold', 'big.bin'), prngBytes(20 * MiB, 9));
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({ backup: { copies: [{ name: 'vault', repository: copyDir, password_file: join(sb.root, 'copy-password') }] } }),
    );
    assert.equal(prism(['backup', 'create', '--type', 'full'], env).code, 0);
  });
  after(() => sb?.cleanup());

  it('seals every pack again under its own key; it opens with its password only, and restores byte for byte', () => {
    const r = prism(['backup', 'copy', '--all', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const report = json<CopyReport>(r);
    assert.equal(report.copied.length, 1);
    // no pack of the copy is a pack of the primary: every one was sealed again
    const primaryPacks = new Set(filesUnder(join(sb.repo, 'data')).map((p) => p.slice(p.lastIndexOf('/') + 1)));
    const copyPacks = filesUnder(join(copyDir, 'data')).map((p) => p.slice(p.lastIndexOf('/') + 1));
    assert.ok(copyPacks.length > 0 && copyPacks.every((p) => !primaryPacks.has(p)), copyPacks.join());
    assert.notEqual(JSON.parse(readFileSync(join(copyDir, 'config.json'), 'utf8')).id, JSON.parse(readFileSync(join(sb.repo, 'config.json'), 'utf8')).id);
    // by name: the copy's password; by path with the primary's password: refused
    const v = prism(['backup', 'verify', '--all', '--repo', 'vault', '--json'], env);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    assert.notEqual(prism(['backup', 'list', '--repo', copyDir], env).code, 0);
    const target = join(sb.root, 'restored');
    const id = report.copied[0]!;
    assert.equal(prism(['backup', 'restore', id, '--repo', 'vault', '--target', target], env).code, 0);
    const restored = hashTree(target);
    for (const [path, sum] of hashTree(sb.home, ['logs', 'temp', 'config', 'state'])) assert.equal(restored.get(path), sum, path);
    // deduplication holds: a second backup with one change moves little
    appendFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), ' ');
    assert.equal(prism(['backup', 'create', '--type', 'incremental'], env).code, 0);
    const next = json<CopyReport>(prism(['backup', 'copy', '--all', '--json'], env));
    assert.equal(next.copied.length, 1);
    assert.ok(next.bytes_copied < report.bytes_copied * 0.05, JSON.stringify(next));
  });

  it('a shared-key copy killed after its keys, before its config.json, is finished by the next run', () => {
    const dest = join(sb.root, 'half-made');
    for (const dir of ['keys', 'keyring']) cpSync(join(sb.repo, dir), join(dest, dir), { recursive: true });
    const r = prism(['backup', 'copy', '--all', '--to', dest, '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(json<CopyReport>(r).copied.length >= 1);
    assert.equal(prism(['backup', 'verify', '--all', '--repo', dest], env).code, 0);
  });

  it('is refused for an unencrypted primary', () => {
    const plain = sandbox();
    try {
      writeDataset(plain.home, { files: 2 });
      writeFileSync(
        join(plain.home, 'config', 'backup.json'),
        JSON.stringify({ backup: { copies: [{ name: 'vault', repository: join(plain.root, 'v'), password_file: join(sb.root, 'copy-password') }] } }),
      );
      assert.equal(prism(['backup', 'create', '--type', 'full'], plain.env).code, 0);
      const r = prism(['backup', 'copy', '--all'], plain.env);
      assert.equal(r.code, 56, r.stderr);
      assert.match(r.stderr, /encrypted/);
    } finally {
      plain.cleanup();
    }
  });
});

describe('copies in backup stats, health, alerts and drills (CLI)', () => {
  let sb: Sandbox;
  let env: Record<string, string>;
  let full: Manifest;
  let inc: Manifest;
  let port: number;
  const ok = (args: string[]): CliResult => {
    const r = prism(args, env);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };
  const byName = (copies: CopyStatus[]) => new Map(copies.map((c) => [c.name, c]));
  // the repository sits on the test machine's own disk: when that is over the SOP's 80 %, health
  // says so (and exits non-zero) whatever the copies do
  const machineDiskBusy = (): boolean => {
    const s = statfsSync(sb.root);
    return (1 - s.bavail / s.blocks) * 100 >= 75;
  };
  const health = (args: string[]): CliResult => {
    const r = prism(['backup', 'health', ...args], env);
    if (!machineDiskBusy()) assert.equal(r.code, 0, `backup health ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };

  before(async () => {
    sb = sandbox();
    writeDataset(sb.home, { files: 12 });
    port = await freePort(); // nothing listens there: the SSH connection is refused
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(sb.root, 'key')]);
    writeFileSync(join(sb.root, 'not-a-dir'), "a file where the copy's parent directory should be");
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: {
          copies: [
            { name: 'second-disk', repository: join(sb.root, 'second-disk'), after_backup: true },
            { name: 'offsite', repository: `sftp://root@127.0.0.1:${port}/srv/prism-copy`, after_backup: true },
            { name: 'broken-disk', repository: join(sb.root, 'not-a-dir', 'copy'), schedule: '0 * * * *' },
          ],
        },
      }),
    );
    // UTC: the intervals of the default schedule are whole hours, whatever the machine's summer time
    env = { ...sb.env, PRISM_SFTP_KEY: join(sb.root, 'key'), PRISM_STORE_RETRY_SECONDS: '1', TZ: 'UTC' };
    full = json<Manifest>(ok(['backup', 'create', '--type', 'full', '--json']));
    ok(['backup', 'copy', '--all', '--to', 'second-disk']);
    appendFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), ' ');
    inc = json<Manifest>(ok(['backup', 'create', '--type', 'incremental', '--json']));
  });
  after(() => sb?.cleanup());

  it('stats and health show each copy: its newest backup and lag; an unreachable copy its error, and the command goes on', () => {
    const stats = json<BackupStats>(ok(['backup', 'stats', '--json']));
    assert.equal(stats.latest?.id, inc.id);
    const copies = byName(stats.copies);
    assert.deepEqual([...copies.keys()], ['second-disk', 'offsite', 'broken-disk']);
    const disk = copies.get('second-disk')!;
    assert.deepEqual(
      [disk.source, disk.error, disk.backups, disk.latest, disk.lag.backups, disk.lag.oldest_missing?.id, disk.last_run?.status, disk.last_run?.copied],
      ['copy', null, 1, { id: full.id, at: full.finished_at }, 1, inc.id, 'ok', 1],
    );
    assert.equal(disk.lag.seconds, (Date.parse(inc.finished_at!) - Date.parse(full.finished_at!)) / 1000);
    // after_backup: measured in the primary's backup interval (the default schedule: Friday 03:00 to Sunday 02:00 is the longest gap)
    assert.equal(disk.interval_hours, 47);
    const offsite = copies.get('offsite')!;
    assert.equal(offsite.error?.code, 'ERR_PRISM_STORE_UNAVAILABLE');
    assert.match(offsite.error!.message, /ECONNREFUSED/);
    assert.deepEqual([offsite.source, offsite.backups, offsite.latest, offsite.lag.backups, offsite.last_run], ['last_run', null, null, 2, null]);
    const broken = copies.get('broken-disk')!;
    assert.ok(broken.error?.code.startsWith('ERR_'), JSON.stringify(broken));
    assert.deepEqual([broken.schedule, broken.interval_hours], ['0 * * * *', 1]);

    const text = ok(['backup', 'stats']).stdout;
    assert.match(text, new RegExp(`^Copies:\n  second-disk \\(${join(sb.root, 'second-disk')}\\)\n    newest backup: ${full.id} \\(`, 'm'));
    assert.match(text, /^ {4}1 backup\(s\) behind the primary \(its newest is \d+ s older than the primary's\); waiting since /m);
    assert.match(text, /^ {2}offsite \(sftp:\/\/root@127\.0\.0\.1:\d+\/srv\/prism-copy\)\n {4}cannot be read \[ERR_PRISM_STORE_UNAVAILABLE\]: .*ECONNREFUSED/m);

    const h = json<BackupHealth>(health(['--json']));
    assert.deepEqual(
      h.indicators.filter((i) => !i.ok && i.name !== 'storage'),
      [],
    );
    assert.deepEqual(
      h.copies.map((c) => [c.name, c.latest?.id ?? null, c.lag.backups, c.error?.code ?? null]),
      stats.copies.map((c) => [c.name, c.latest?.id ?? null, c.lag.backups, c.error?.code ?? null]),
    );
    // nothing has failed yet, and no backup has waited two intervals: no copy alert
    assert.deepEqual(
      h.alerts.filter((a) => a.rule.startsWith('copy')),
      [],
    );
    assert.match(health([]).stdout, /^ {4}cannot be read \[ERR_PRISM_STORE_UNAVAILABLE\]/m);
  });

  it('a failed copy run is recorded: health says when and why without reaching the store, and the alert is raised (high)', () => {
    const r = prism(['backup', 'copy', '--all', '--to', 'offsite'], env);
    assert.equal(r.code, 51, r.stdout + r.stderr);
    const h = json<BackupHealth>(health(['--json']));
    const offsite = byName(h.copies).get('offsite')!;
    assert.equal(offsite.last_run?.status, 'failed');
    assert.equal(offsite.last_run?.error?.code, 'ERR_PRISM_STORE_UNAVAILABLE');
    assert.equal(offsite.last_success_at, null);
    const alert = h.alerts.find((a) => a.key === 'copy_failed:offsite');
    assert.ok(alert, JSON.stringify(h.alerts));
    assert.equal(alert.severity, 'high');
    assert.match(alert.message, new RegExp(`^The last copy to offsite at ${offsite.last_run!.at} failed \\[ERR_PRISM_STORE_UNAVAILABLE\\]: .*ECONNREFUSED`));
    assert.match(health([]).stdout, /^ {4}last copy attempt failed at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[ERR_PRISM_STORE_UNAVAILABLE\]: /m);
    // the alert state and `prism alerts` have it too; the copy that is fine raises nothing
    const alerts = json<{ active: Alert[] }>(ok(['alerts', '--json'])).active.map((a) => a.key);
    assert.ok(alerts.includes('copy_failed:offsite'), alerts.join());
    assert.ok(!alerts.some((k) => k.endsWith(':second-disk')), alerts.join());
    // the health of the copy itself (--repo) shows its alerts without changing the primary's
    health(['--repo', 'second-disk', '--json']);
    assert.ok(json<{ active: Alert[] }>(ok(['alerts', '--json'])).active.some((a) => a.key === 'copy_failed:offsite'));
  });

  it('drill --repo restores from the copy and records which copy was drilled', () => {
    const d = json<DrillRecord>(ok(['drill', '--repo', 'second-disk', '--json']));
    assert.deepEqual([d.status, d.backup_id, d.repository], ['passed', full.id, 'second-disk']);
    assert.ok(d.files_checked > 0 && d.rto_seconds > 0, JSON.stringify(d));
    ok(['drill']);
    const history = json<DrillRecord[]>(ok(['drill', '--history', '--json']));
    assert.deepEqual(
      history.map((x) => [x.repository ?? null, x.backup_id]),
      [
        ['second-disk', full.id],
        [null, inc.id],
      ],
    );
    const rows = ok(['drill', '--history']).stdout.trim().split('\n');
    assert.match(rows[1]!, new RegExp(` primary +${inc.id} +manual +passed `));
    assert.match(rows[2]!, new RegExp(` second-disk +${full.id} +manual +passed `));
  });
});
