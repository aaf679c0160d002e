import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../repo/index.js';
import { json, prism, prngBytes, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';

describe('prism backup restore (CLI)', () => {
  let sb: Sandbox;
  let full: Manifest;
  let inc: Manifest;
  before(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 10 });
    full = json<Manifest>(prism(['backup', 'create', '--type', 'full', '--json'], sb.env));
    writeFileSync(join(sb.home, 'level-1-hot', 'after-full.json'), '{"n":1}');
    inc = json<Manifest>(prism(['backup', 'create', '--type', 'incremental', '--json'], sb.env));
  });
  after(() => sb.cleanup());

  it('rejects wrong flag combinations and unknown ids with clear codes', () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['backup', 'restore'], 2, /Name the backup to restore/],
      [['backup', 'restore', full.id, '--at', 'now'], 2, /either a backup id or --at/],
      [['backup', 'restore', full.id, '--dry-run', '--confirm'], 2, /--dry-run and --confirm/],
      [['backup', 'restore', full.id, '--auto-chain', '--incremental', '--confirm'], 2, /choose one/],
      [['backup', 'restore', '--at', 'not a date'], 2, /--at "not a date" is not a date/],
      [['backup', 'restore', 'backup_20000101_000000_full', '--confirm'], 4, /ERR_PRISM_NOT_FOUND/],
      [['backup', 'restore', 'nonsense', '--confirm'], 4, /not a backup id/],
      [['backup', 'restore', full.id, '--include', '../../etc', '--confirm'], 2, /without "\.\."/],
    ];
    for (const [args, code, msg] of cases) {
      const r = prism(args, sb.env);
      assert.equal(r.code, code, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, msg);
    }
  });

  it('SOP 3.1: dry run, refuse without --confirm, then restore with --confirm', () => {
    writeFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), 'changed');
    const dry = prism(['backup', 'restore', full.id, '--dry-run'], sb.env);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /Would overwrite: 1/);
    assert.match(dry.stdout, /Would delete: +1/);
    assert.match(dry.stdout, /Nothing was changed/);
    const refused = prism(['backup', 'restore', full.id], sb.env);
    assert.equal(refused.code, 17);
    assert.match(refused.stderr, /ERR_PRISM_CONFIRM.*overwrites 1 and deletes 1/);
    assert.equal(readFileSync(join(sb.home, 'level-1-hot', 'shard-0', 'doc-0.json'), 'utf8'), 'changed');
    const done = json<{ backup: string; safety_backup: string; files: number }>(prism(['backup', 'restore', full.id, '--confirm', '--json'], sb.env));
    assert.equal(done.backup, full.id);
    assert.match(done.safety_backup, /^backup_\d{8}_\d{6}_full/);
    assert.equal(existsSync(join(sb.home, 'level-1-hot', 'after-full.json')), false);
    const safety = json<Manifest>(prism(['backup', 'info', done.safety_backup, '--json'], sb.env));
    assert.match(safety.comment!, /^Pre-restore backup/);
    const log = readFileSync(join(sb.home, 'logs', 'backup-restore.log'), 'utf8');
    for (const step of ['restore.plan', 'restore.safety_backup', 'restore.staging', 'restore.staged', 'restore.swap', 'restore.done'])
      assert.ok(log.includes(`"${step}"`), step);
  });

  it('SOP 6.2: restore to a temporary directory first (no --confirm needed), then --auto-chain', () => {
    const tmp = join(sb.root, 'restore-test');
    const r = prism(['backup', 'restore', inc.id, '--target', tmp], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(existsSync(join(tmp, 'level-1-hot', 'after-full.json')));
    const again = prism(['backup', 'restore', full.id, '--target', tmp, '--auto-chain', '--confirm'], sb.env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(existsSync(join(tmp, 'level-1-hot', 'after-full.json')), false);
    const chained = prism(['backup', 'restore', inc.id, '--target', tmp, '--incremental', '--confirm'], sb.env);
    assert.equal(chained.code, 0, chained.stderr);
    assert.ok(existsSync(join(tmp, 'level-1-hot', 'after-full.json')));
    const mismatch = prism(['backup', 'restore', inc.id, '--target', join(sb.root, 'empty'), '--incremental'], sb.env);
    assert.equal(mismatch.code, 18);
    assert.match(mismatch.stderr, /ERR_PRISM_INCREMENTAL_BASE/);
  });
});

describe('prism backup restore never follows a symlink out of the target (CLI)', () => {
  let sb: Sandbox;
  let outside: string;
  before(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 3 });
    outside = join(sb.root, 'outside');
    mkdirSync(outside);
  });
  after(() => sb.cleanup());

  const work = () => readdirSync(sb.home).filter((n) => n.startsWith('.prism-restore'));

  it('--exclude below a path that is a symlink in the backup: refused by the dry run and the restore, nothing moves outside', () => {
    const link = join(sb.home, 'level-1-hot', 'link');
    symlinkSync(outside, link);
    const m = json<Manifest>(prism(['backup', 'create', '--type', 'full', '--json'], sb.env));
    rmSync(link);
    mkdirSync(link);
    writeFileSync(join(link, 'keep'), 'live keep');
    for (const mode of ['--dry-run', '--confirm']) {
      const r = prism(['backup', 'restore', m.id, mode, '--no-safety-backup', '--exclude', 'level-1-hot/link/keep'], sb.env);
      assert.equal(r.code, 19, `${mode}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /ERR_PRISM_RESTORE_PATH/);
      assert.match(r.stderr, /level-1-hot\/link is a symlink in backup/);
      assert.deepEqual(readdirSync(outside), [], `${mode}: nothing written outside the data directory`);
      assert.equal(readFileSync(join(link, 'keep'), 'utf8'), 'live keep');
      assert.deepEqual(work(), []);
    }
    // excluding the path itself keeps the live directory as it is
    const ok = prism(['backup', 'restore', m.id, '--confirm', '--no-safety-backup', '--exclude', 'level-1-hot/link'], sb.env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(readFileSync(join(link, 'keep'), 'utf8'), 'live keep');
    assert.deepEqual(readdirSync(outside), []);
    rmSync(link, { recursive: true });
  });

  it('a live folder that is a symlink: the plan does not look through it, --exclude below it moves nothing in from outside', () => {
    const dir = join(sb.home, 'level-2-warm', 'dir');
    mkdirSync(dir);
    writeFileSync(join(dir, 'keep'), 'backed up');
    const m = json<Manifest>(prism(['backup', 'create', '--type', 'full', '--json'], sb.env));
    rmSync(dir, { recursive: true });
    symlinkSync(outside, dir);
    writeFileSync(join(outside, 'keep'), 'backed up'); // same size: a plan that looked through the link would call it unchanged
    const plan = json<{ changes: { create: string[]; overwrite: string[] } }>(prism(['backup', 'restore', m.id, '--dry-run', '--json'], sb.env));
    assert.ok(plan.changes.overwrite.includes('level-2-warm/dir'), 'the link is replaced by the directory');
    assert.ok(plan.changes.create.includes('level-2-warm/dir/keep'), "what the link points to is not the data directory's");
    for (const mode of ['--dry-run', '--confirm']) {
      const r = prism(['backup', 'restore', m.id, mode, '--no-safety-backup', '--exclude', 'level-2-warm/dir/keep'], sb.env);
      assert.equal(r.code, 19, `${mode}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /level-2-warm\/dir is a symlink in the data directory/);
      assert.deepEqual(readdirSync(outside), ['keep'], `${mode}: nothing taken from outside`);
      assert.ok(lstatSync(dir).isSymbolicLink());
      assert.deepEqual(work(), []);
    }
    const ok = prism(['backup', 'restore', m.id, '--confirm', '--no-safety-backup'], sb.env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(lstatSync(dir).isDirectory(), "the backup's directory replaces the link");
    assert.equal(readFileSync(join(dir, 'keep'), 'utf8'), 'backed up');
    assert.deepEqual(readdirSync(outside), ['keep'], "the link's target is left alone");
  });
});

describe('prism backup restore: times (CLI)', () => {
  it('every restored entry has the exact ns mtime of its source, also from the restore worker threads', () => {
    const sb = sandbox();
    try {
      writeDataset(sb.home, { files: 200 });
      writeFileSync(join(sb.home, 'level-3-cold', 'big.bin'), prngBytes(40 * 1024 * 1024, 3)); // enough for the worker threads
      const env = { ...sb.env, PRISM_BACKUP_CONCURRENCY: '2' };
      const m = json<Manifest>(prism(['backup', 'create', '--type', 'full', '--json'], env));
      const out = join(sb.root, 'out');
      const r = prism(['backup', 'restore', m.id, '--target', out], env);
      assert.equal(r.code, 0, r.stderr);
      const paths = readdirSync(join(sb.home), { recursive: true })
        .map(String)
        .filter((p) => /^(level-|config)/.test(p));
      assert.ok(paths.length > 200);
      const off = paths.filter((p) => lstatSync(join(out, p), { bigint: true }).mtimeNs !== lstatSync(join(sb.home, p), { bigint: true }).mtimeNs);
      assert.deepEqual(off, []);
    } finally {
      sb.cleanup();
    }
  });
});
