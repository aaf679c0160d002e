import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../repo/index.js';
import { flipChunkOf } from '../testing/damage.js';
import { TEST_PASSWORD, initEncrypted } from '../testing/encrypted.js';
import { hashTree, json, prism, prngBytes, sandbox, writeDataset, type CliResult, type Sandbox } from '../testing/fixtures.js';

const MiB = 1024 * 1024;
const BIG = 'level-1-hot/aaa-big-0.bin';

/*
 * Every files command on one encrypted repository, as processes with the password in
 * PRISM_PASSWORD_FILE. The repository is created with fast key derivation (initEncrypted), so
 * opening it costs no calibrated scrypt per command. 24 MiB of incompressible data: chunk workers
 * back it up (over 8 MiB to read, PRISM_BACKUP_CONCURRENCY 2) and restore workers restore it
 * (over 16 MiB). The cases run in order on the one repository; the later ones change it.
 */
describe('encrypted repository: every files command (CLI)', () => {
  let sb: Sandbox;
  let env: Record<string, string>;
  let full: Manifest;
  let inc: Manifest;
  const cli = (args: string[], extra: Record<string, string> = {}): CliResult => prism(args, { ...env, ...extra });
  const ok = (args: string[]): CliResult => {
    const r = cli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };

  before(async () => {
    sb = sandbox();
    await initEncrypted(sb);
    const password = join(sb.root, 'password');
    writeFileSync(password, TEST_PASSWORD, { mode: 0o600 });
    env = { ...sb.env, PRISM_PASSWORD_FILE: password, PRISM_BACKUP_CONCURRENCY: '2' };
    writeDataset(sb.home, { files: 12 });
    for (let i = 0; i < 3; i++) writeFileSync(join(sb.home, `level-1-hot/aaa-big-${i}.bin`), prngBytes(8 * MiB, 40 + i));
  });
  after(() => sb.cleanup());

  it('backup create full and incremental (chunk workers); restore (restore workers) byte for byte', () => {
    full = json<Manifest>(ok(['backup', 'create', '--type', 'full', '--json']));
    assert.equal(full.status, 'completed');
    writeFileSync(join(sb.home, 'level-2-warm', 'added.json'), JSON.stringify({ added: 'after the full backup' }));
    writeFileSync(join(sb.home, 'level-1-hot/aaa-big-2.bin'), prngBytes(8 * MiB, 99));
    inc = json<Manifest>(ok(['backup', 'create', '--type', 'incremental', '--json']));
    assert.deepEqual([inc.status, inc.type, inc.parent], ['completed', 'incremental', full.id]);
    const target = join(sb.root, 'restored');
    ok(['backup', 'restore', inc.id, '--target', target]);
    assert.deepEqual(hashTree(target), hashTree(sb.home));
    rmSync(target, { recursive: true });
  });

  it('ls, dump, diff, info, list, stats, chain', () => {
    const entries = json<Array<{ path: string }>>(ok(['backup', 'ls', inc.id, 'level-2-warm', '-r', '--json']));
    assert.ok(entries.some((e) => e.path === 'level-2-warm/added.json'));
    assert.equal(ok(['backup', 'dump', inc.id, 'level-2-warm/added.json']).stdout, JSON.stringify({ added: 'after the full backup' }));
    const diff = ok(['backup', 'diff', full.id, inc.id, '--json']).stdout;
    assert.match(diff, /level-2-warm\/added\.json/);
    assert.match(diff, /aaa-big-2\.bin/);
    assert.equal(json<Manifest>(ok(['backup', 'info', full.id, '--json'])).id, full.id);
    assert.deepEqual(
      json<Manifest[]>(ok(['backup', 'list', '--json'])).map((m) => [m.id, m.status]),
      [
        [inc.id, 'completed'],
        [full.id, 'completed'],
      ],
    );
    const stats = json<{ backups: { total: number } }>(ok(['backup', 'stats', '--json']));
    assert.equal(stats.backups.total, 2);
    assert.match(ok(['backup', 'chain', inc.id]).stdout, new RegExp(full.id));
  });

  it('verify: one backup, --all, --no-read-data, --read-data-subset (parts and percent), --background', () => {
    for (const args of [
      [inc.id],
      ['--all'],
      ['--all', '--no-read-data'],
      ['--all', '--read-data-subset', '1/2'],
      ['--all', '--read-data-subset', '2/2'],
      ['--all', '--read-data-subset', '50%'],
    ]) {
      const r = ok(['backup', 'verify', ...args]);
      assert.match(r.stdout, new RegExp(`^${inc.id}: status: completed`, 'm'), args.join(' '));
    }
    const bg = json<{ ok: boolean; packs_total: number; packs_read: string[] }>(ok(['backup', 'verify', '--background', '--json']));
    assert.equal(bg.ok, true);
    assert.ok(bg.packs_total >= 2, JSON.stringify(bg));
  });

  it('drill and health check', () => {
    const drill = ok(['drill', '--backup', inc.id]);
    assert.match(drill.stdout, new RegExp(`^Restore drill of ${inc.id}: PASSED$`, 'm'));
    const health = ok(['health', 'check', 'data']);
    assert.match(health.stdout, /^Status: healthy$/m);
  });

  it('a damaged chunk: verify marks the backup corrupted; verify --background re-stores it from the live file; verify is clean again', async () => {
    const { files } = await flipChunkOf(sb, full, BIG, TEST_PASSWORD);
    assert.deepEqual(files, [BIG]);
    const bad = cli(['backup', 'verify', '--all']);
    assert.equal(bad.code, 15, bad.stdout + bad.stderr);
    assert.match(bad.stdout, new RegExp(`^ {2}damaged: ${BIG}$`, 'm'));
    const bg = json<{ ok: boolean; repaired: { chunks: number; files: string[] } }>(ok(['backup', 'verify', '--background', '--json']));
    assert.deepEqual([bg.ok, bg.repaired.chunks, bg.repaired.files], [true, 1, [BIG]]);
    const again = ok(['backup', 'verify', '--all']);
    assert.doesNotMatch(again.stdout, /corrupted/);
  });

  it('repair index after the index is lost: rebuilt from the sealed trailers, verify is clean', () => {
    for (const n of readdirSync(join(sb.repo, 'index'))) rmSync(join(sb.repo, 'index', n));
    const lost = cli(['backup', 'verify', '--all']);
    assert.notEqual(lost.code, 0);
    const r = json<{ blobs: number; lost_blobs: number }>(ok(['backup', 'repair', 'index', '--json']));
    assert.ok(r.blobs > 0);
    assert.equal(r.lost_blobs, 0);
    ok(['backup', 'verify', '--all']);
  });

  it('policy, cleanup, delete and prune (repacking): what stays verifies and restores', () => {
    ok(['backup', 'policy']);
    ok(['backup', 'cleanup', '--dry-run']);
    ok(['backup', 'cleanup']);
    ok(['backup', 'delete', inc.id, '--confirm', '--force', '--no-prune']);
    const pruned = json<Record<string, unknown>>(ok(['backup', 'prune', '--max-unused', '0%', '--json']));
    assert.ok(JSON.stringify(pruned).length > 2);
    assert.deepEqual(
      json<Manifest[]>(ok(['backup', 'list', '--json'])).map((m) => m.id),
      [full.id],
    );
    ok(['backup', 'verify', '--all']);
    const target = join(sb.root, 'restored-full');
    ok(['backup', 'restore', full.id, '--target', target]);
    assert.equal(readFileSync(join(target, 'level-1-hot/aaa-big-2.bin')).equals(prngBytes(8 * MiB, 42)), true, 'the full backup has the first version');
  });

  it('a wrong password: backup create, restore, verify and prune exit 48, write nothing, print no stack trace', () => {
    const wrong = join(sb.root, 'wrong-password');
    writeFileSync(wrong, 'not the password', { mode: 0o600 });
    const before = snapshotOf(sb.repo);
    for (const args of [
      ['backup', 'create', '--type', 'full'],
      ['backup', 'restore', full.id, '--target', join(sb.root, 'never')],
      ['backup', 'verify', '--all'],
      ['backup', 'prune'],
    ]) {
      const r = cli(args, { PRISM_PASSWORD_FILE: wrong });
      assert.equal(r.code, 48, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^Error \[ERR_PRISM_WRONG_PASSWORD\] No key file of the repository at .* opens with the password from /m);
      assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
    }
    assert.deepEqual(snapshotOf(sb.repo), before, 'nothing written');
  });
});

/** Every file under `dir` with its size and mtime. */
function snapshotOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => {
      const p = join(d.parentPath, d.name);
      const s = statSync(p);
      return `${p} ${s.size} ${s.mtimeMs}`;
    })
    .sort();
}
