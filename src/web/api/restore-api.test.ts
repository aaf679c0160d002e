import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBackup } from '../../app/backups/create-backup.js';
import type { AppContext, Manifest } from '../../app/index.js';
import { appContext, hashTree, json, prism, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { body, call, refusal } from './api-testing.js';

describe('dashboard API: restore', () => {
  let sb: Sandbox;
  let ctx: AppContext;
  let m: Manifest;

  before(async () => {
    sb = sandbox();
    ctx = appContext(sb);
    writeDataset(sb.home, { files: 12 });
    m = await createBackup(ctx, { type: 'full' });
  });
  after(() => sb.cleanup());

  it('a dry run lists what would be created and changes nothing; then the restore gives identical files', async () => {
    const target = join(sb.root, 'restored');
    const dry = await body(call(ctx, 'POST /api/restore', { body: { backup: m.id, target, dry_run: true } }));
    const cliTarget = join(sb.root, 'cli-restored');
    const cli = json<Record<string, unknown>>(prism(['backup', 'restore', m.id, '--target', cliTarget, '--dry-run', '--json'], sb.env));
    // the same plan as the CLI's dry run (only the target's name and the time taken differ)
    assert.deepEqual({ ...dry, target: '', duration_ms: 0 }, { ...cli, target: '', duration_ms: 0 });
    assert.equal(dry.dry_run, true);
    assert.ok(dry.plan.create.count > 12);
    assert.deepEqual([dry.plan.overwrite.count, dry.plan.remove.count], [0, 0]);
    assert.equal(existsSync(target), false, 'a dry run writes nothing');

    const done = await body(call(ctx, 'POST /api/restore', { body: { backup: m.id, target, dry_run: false } }));
    assert.equal(done.dry_run, false);
    assert.equal(done.live, false);
    assert.deepEqual(done.problems, []);
    assert.deepEqual(hashTree(target), hashTree(sb.home));

    // again over a changed target: the dry run names the overwrite and the deletion, the restore puts it back
    writeFileSync(join(target, 'config', 'gateway.json'), '{"changed":true}');
    writeFileSync(join(target, 'config', 'extra.txt'), 'extra');
    const again = await body(call(ctx, 'POST /api/restore', { body: { backup: m.id, target, dry_run: true } }));
    assert.deepEqual(again.changes.overwrite, ['config/gateway.json']);
    assert.deepEqual(again.changes.remove, ['config/extra.txt']);
    await body(call(ctx, 'POST /api/restore', { body: { backup: m.id, target, dry_run: false } }));
    assert.deepEqual(hashTree(target), hashTree(sb.home));
  });

  it('at: the latest completed backup at or before a time', async () => {
    const r = await body(
      call(ctx, 'POST /api/restore', { body: { at: new Date(Date.parse(m.started_at) + 1000).toISOString(), target: join(sb.root, 'at'), dry_run: true } }),
    );
    assert.equal(r.backup, m.id);
  });

  it('paths restores only those paths', async () => {
    const target = join(sb.root, 'partial');
    const r = await body(call(ctx, 'POST /api/restore', { body: { backup: m.id, target, paths: ['/config/'], dry_run: false } }));
    assert.deepEqual(r.problems, []);
    assert.deepEqual(readdirSync(target), ['config']);
    assert.deepEqual(hashTree(join(target, 'config')), hashTree(join(sb.home, 'config')));
    const bad = await refusal(call(ctx, 'POST /api/restore', { body: { backup: m.id, target, paths: ['config/../..'], dry_run: true } }));
    assert.equal(bad.status, 400);
  });

  it('the live data directory, inside it, above it, through a symlink, or the repository: 409, saying to use the CLI', async () => {
    mkdirSync(join(sb.root, 'links'));
    symlinkSync(join(sb.home, 'level-1-hot'), join(sb.root, 'links', 'hot'));
    const live = [
      sb.home,
      `${sb.home}/`,
      join(sb.home, 'level-1-hot'),
      join(sb.home, 'new', 'dir'),
      sb.root,
      '/',
      join(sb.root, 'links', 'hot', 'x'),
      `${sb.root}/other/../home`,
    ];
    const before = hashTree(sb.home);
    for (const target of live) {
      const e = await refusal(call(ctx, 'POST /api/restore', { body: { backup: m.id, target, dry_run: false } }));
      assert.equal(e.status, 409, target);
      assert.equal(e.code, 'LIVE_DATA_DIRECTORY', target);
      assert.match(e.message, /stop the service \(`prism stop`\) and run `prism backup restore`/);
    }
    for (const target of [sb.repo, join(sb.repo, 'data')]) {
      const e = await refusal(call(ctx, 'POST /api/restore', { body: { backup: m.id, target, dry_run: true } }));
      assert.equal(e.status, 409, target);
    }
    assert.deepEqual(hashTree(sb.home), before, 'the live data is untouched');
  });

  it('bad bodies are 400 naming the field; an unknown backup 404', async () => {
    const target = join(sb.root, 'x');
    const cases: Array<[unknown, RegExp]> = [
      [{ backup: m.id, target: 'relative/dir', dry_run: true }, /^target: an absolute directory path/],
      [{ backup: m.id, target: `${target}\0/y`, dry_run: true }, /^target: a path without NUL/],
      [{ backup: m.id, dry_run: true }, /^target:/],
      [{ backup: m.id, target }, /^dry_run:/],
      [{ backup: m.id, target, dry_run: 'yes' }, /^dry_run: true or false/],
      [{ backup: m.id, target, dry_run: true, paths: 'config' }, /^paths:/],
      [{ backup: m.id, target, dry_run: true, force: true }, /^force: not a known field/],
      [null, /body must be a JSON object/],
      [[1], /body must be a JSON object/],
    ];
    for (const [b, message] of cases) {
      const e = await refusal(call(ctx, 'POST /api/restore', { body: b }));
      assert.equal(e.status, 400, JSON.stringify(b));
      assert.match(e.message, message, JSON.stringify(b));
    }
    for (const b of [
      { target, dry_run: true },
      { backup: m.id, at: '2030-01-01T00:00:00Z', target, dry_run: true },
    ]) {
      const e = await refusal(call(ctx, 'POST /api/restore', { body: b }));
      assert.equal(e.status, 400);
      assert.match(e.message, /^backup: give a backup id, or at/);
    }
    assert.match((await refusal(call(ctx, 'POST /api/restore', { body: { at: 'soon', target, dry_run: true } }))).message, /^at: an ISO 8601/);
    const early = await refusal(call(ctx, 'POST /api/restore', { body: { at: '2020-01-01', target, dry_run: true } }));
    assert.equal(early.status, 404);
    const unknown = await refusal(call(ctx, 'POST /api/restore', { body: { backup: 'backup_20300101_000000_full', target, dry_run: true } }));
    assert.equal(unknown.status, 404);
    assert.equal(existsSync(target), false);
  });
});
