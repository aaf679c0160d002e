import assert from 'node:assert/strict';
import { appendFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FixedClock } from '../../core/clock.js';
import { PrismError } from '../../errors/index.js';
import type { Manifest } from '../../repo/index.js';
import { walkTree } from '../../snapshot/tree-walk.js';
import { openRepo } from '../../testing/damage.js';
import { appContext, json, prism, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import type { AppContext } from '../context.js';
import { createBackup } from './create-backup.js';
import { backupChain, backupDependencies, type DependencyReport } from './lineage.js';

/** Distinct chunks of a backup → plaintext size, from the repository itself. */
async function chunks(sb: Sandbox, m: Manifest): Promise<Map<string, number>> {
  const repo = await openRepo(sb);
  const out = new Map<string, number>();
  for await (const { node } of walkTree(repo, m.tree!)) for (const c of node.content ?? []) out.set(c, repo.index.get(c)!.blobLength);
  return out;
}

describe('backup chain and dependencies', () => {
  let sb: Sandbox;
  let clock: FixedClock;
  let ctx: AppContext;
  let full: Manifest;
  let inc1: Manifest;
  let inc2: Manifest;

  beforeEach(async () => {
    sb = sandbox();
    clock = new FixedClock(new Date('2026-02-07T02:00:15Z'));
    ctx = appContext(sb, {}, clock);
    writeDataset(sb.home, { files: 12 });
    full = await createBackup(ctx, { type: 'full' });
    clock.advance(86_400_000);
    appendFileSync(join(sb.home, 'level-2-warm', 'shard-1', 'doc-1.json'), '{"appended":1}\n');
    inc1 = await createBackup(ctx, { type: 'incremental' });
    clock.advance(86_400_000);
    writeFileSync(join(sb.home, 'level-1-hot', 'new.json'), '{"new":2}');
    inc2 = await createBackup(ctx, { type: 'incremental' });
  });
  afterEach(() => sb.cleanup());

  it('the chain of the last incremental is full -> inc1 -> inc2, in order', async () => {
    assert.equal(inc1.parent, full.id);
    assert.equal(inc2.parent, inc1.id);
    const r = await backupChain(ctx, inc2.id);
    assert.equal(r.target, inc2.id);
    assert.equal(r.broken_at, null);
    assert.deepEqual(
      r.chain.map((c) => [c.id, c.type, c.status]),
      [
        [full.id, 'full', 'completed'],
        [inc1.id, 'incremental', 'completed'],
        [inc2.id, 'incremental', 'completed'],
      ],
    );
    assert.deepEqual(
      (await backupChain(ctx, inc1.id)).chain.map((c) => c.id),
      [full.id, inc1.id],
    );
    assert.deepEqual(
      (await backupChain(ctx, full.id)).chain.map((c) => c.id),
      [full.id],
    );

    const cli = prism(['backup', 'chain', inc2.id], sb.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout, `${full.id} -> ${inc1.id} -> ${inc2.id}\n`);
  });

  it('dependencies of the full backup: both incrementals, with the data they share, and the SOP warning', async () => {
    const r = await backupDependencies(ctx, full.id);
    assert.equal(r.id, full.id);
    assert.equal(r.type, 'full');
    assert.deepEqual(
      r.dependants.map((d) => [d.id, d.type, d.status]),
      [
        [inc1.id, 'incremental', 'completed'],
        [inc2.id, 'incremental', 'completed'],
      ],
    );
    // shared bytes: exactly the plaintext of the distinct chunks both backups reference
    const own = await chunks(sb, full);
    const ownBytes = [...own.values()].reduce((s, b) => s + b, 0);
    for (const [i, m] of [inc1, inc2].entries()) {
      let shared = 0;
      for (const [c, size] of await chunks(sb, m)) if (own.has(c)) shared += size;
      assert.ok(shared > 0);
      assert.ok(shared < ownBytes, 'doc-1.json changed, so not everything is shared');
      assert.equal(r.dependants[i]!.shared_bytes, shared);
      assert.equal(r.dependants[i]!.shared_percent, (shared / ownBytes) * 100);
    }
    assert.match(r.warning ?? '', /^WARNING: 2 backup\(s\) depend on this full backup/);

    const cli = prism(['backup', 'dependencies', full.id], sb.env);
    assert.equal(cli.code, 0, cli.stderr);
    const lines = cli.stdout.trim().split('\n');
    assert.match(lines[0]!, /^DEPENDANT\s+TYPE\s+STATUS\s+SHARED DATA$/);
    assert.match(lines[1]!, new RegExp(`^${inc1.id}\\s+incremental\\s+completed\\s+[\\d.]+ [KM]?B \\([\\d.]+%\\)$`));
    assert.match(lines[2]!, new RegExp(`^${inc2.id}\\s+incremental\\s+completed\\s+[\\d.]+ [KM]?B \\([\\d.]+%\\)$`));
    assert.match(lines[3]!, /^WARNING: 2 backup\(s\) depend on this full backup/);
    const asJson = json<DependencyReport>(prism(['backup', 'dependencies', full.id, '--json'], sb.env));
    assert.deepEqual(asJson, r);
  });

  it('nothing depends on the last incremental; an incremental with dependants gets no full-backup warning', async () => {
    const last = await backupDependencies(ctx, inc2.id);
    assert.deepEqual(last, { id: inc2.id, type: 'incremental', dependants: [], warning: null });
    const cli = prism(['backup', 'dependencies', inc2.id], sb.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout, `No backups depend on ${inc2.id}.\n`);
    const mid = await backupDependencies(ctx, inc1.id);
    assert.deepEqual(
      mid.dependants.map((d) => d.id),
      [inc2.id],
    );
    assert.equal(mid.warning, null);
  });

  it('a second full backup starts a new chain and does not depend on the first', async () => {
    clock.advance(86_400_000);
    const full2 = await createBackup(ctx, { type: 'full' });
    assert.deepEqual(
      (await backupChain(ctx, full2.id)).chain.map((c) => c.id),
      [full2.id],
    );
    assert.deepEqual(
      (await backupDependencies(ctx, full.id)).dependants.map((d) => d.id),
      [inc1.id, inc2.id],
    );
    const r = await backupDependencies(ctx, full2.id);
    assert.deepEqual(r.dependants, []);
    assert.equal(r.warning, null);
  });

  it('a deleted ancestor: the chain starts at the oldest one present and names the missing parent', async () => {
    rmSync(join(sb.repo, 'snapshots', `${inc1.id}.json`));
    const r = await backupChain(ctx, inc2.id);
    assert.deepEqual(
      r.chain.map((c) => c.id),
      [inc2.id],
    );
    assert.equal(r.broken_at, inc1.id);
    const cli = prism(['backup', 'chain', inc2.id], sb.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.equal(cli.stdout.split('\n')[0], inc2.id);
    assert.match(cli.stdout, new RegExp(`^\\(parent ${inc1.id} was deleted; .* ${inc2.id} restores on its own\\)$`, 'm'));
  });

  it('an unknown id is ERR_PRISM_NOT_FOUND (exit 4) for chain and dependencies', async () => {
    const unknown = 'backup_20200101_000000_full';
    for (const cmd of ['chain', 'dependencies']) {
      const r = prism(['backup', cmd, unknown], sb.env);
      assert.equal(r.code, 4, `${cmd}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^Error \\[ERR_PRISM_NOT_FOUND\\] Backup ${unknown} not found`, 'm'));
      assert.equal(r.stdout, '');
    }
    await assert.rejects(backupChain(ctx, 'nonsense'), (e: PrismError) => e.exitCode === 4 && /"nonsense" is not a backup id/.test(e.message));
    await assert.rejects(backupDependencies(ctx, unknown), (e: PrismError) => e.code === 'BACKUP_NOT_FOUND');
  });

  it('a damaged manifest of another backup does not stop chain or dependencies (list skips it too)', async () => {
    writeFileSync(join(sb.repo, 'snapshots', 'backup_20260101_000000_full.json'), '{"format": 1, "id": ');
    const chain = await backupChain(ctx, inc2.id);
    assert.deepEqual(
      chain.chain.map((c) => c.id),
      [full.id, inc1.id, inc2.id],
    );
    assert.deepEqual(
      (await backupDependencies(ctx, full.id)).dependants.map((d) => d.id),
      [inc1.id, inc2.id],
    );
  });
});
