import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { systemClock } from '../../../core/clock.js';
import { PrismError } from '../../../errors/index.js';
import { appContext, prngBytes, sandbox, writeDataset, type Sandbox } from '../../../testing/fixtures.js';
import { openRepository, type AppContext } from '../../context.js';
import { createBackup } from '../../backups/create-backup.js';
import { archiveWal, listWal, restoreWal } from './pg-archive-wal.js';
import { pruneRepository } from '../../maintenance/prune-command.js';

describe('WAL archive in the repository (locks, dedup, prune)', () => {
  let sb: Sandbox;
  let ctx: AppContext;
  beforeEach(() => {
    sb = sandbox();
    ctx = appContext(sb, {}, systemClock);
  });
  afterEach(() => sb.cleanup());

  const segment = (name: string, seed: number): string => {
    const p = join(sb.root, name);
    // 3 MiB the same in every segment, 1 MiB of its own
    writeFileSync(p, Buffer.concat([prngBytes(3 << 20, 99), prngBytes(1 << 20, seed)]));
    return p;
  };

  it('archives while a backup holds its lock, shares chunks, and survives prune and cleanup of the file backups', async () => {
    writeDataset(sb.home, { files: 6 });
    await createBackup(ctx, { type: 'full' });
    const repo = await openRepository(ctx);
    const backupLock = await repo.lock('backup', 'a running backup');
    try {
      const a = await archiveWal(ctx, segment('000000010000000000000001', 1));
      assert.equal(a.stored, 'new');
      assert.ok(a.new_bytes > 0);
      // the common part is stored once
      const b = await archiveWal(ctx, segment('000000010000000000000002', 2));
      assert.ok(b.new_bytes < a.new_bytes, `${b.new_bytes} < ${a.new_bytes}`);
    } finally {
      await backupLock.release();
    }
    const report = await pruneRepository(ctx, {});
    assert.equal(report.unusedPacks.length + report.repackPacks.length, 0);
    const out = join(sb.root, 'fetched');
    await restoreWal(ctx, '000000010000000000000002', out);
    assert.deepEqual(readFileSync(out), readFileSync(join(sb.root, '000000010000000000000002')));
    assert.deepEqual(
      (await listWal(ctx)).wal.map((w) => w.name),
      ['000000010000000000000001', '000000010000000000000002'],
    );
  });

  it('fails (so PostgreSQL retries) while prune holds the exclusive lock, and a damaged record stops prune', async () => {
    const seg = segment('000000010000000000000003', 3);
    await archiveWal(ctx, seg);
    const repo = await openRepository(ctx);
    const exclusive = await repo.lock('exclusive', 'prism backup prune');
    try {
      await assert.rejects(archiveWal(ctx, segment('000000010000000000000004', 4)), (e: PrismError) => e.code === 'REPO_LOCKED');
    } finally {
      await exclusive.release();
    }
    assert.deepEqual(
      (await listWal(ctx)).wal.map((w) => w.name),
      ['000000010000000000000003'],
    );
    writeFileSync(join(sb.repo, 'pg', 'wal', '000000010000000000000003.json'), '{"format":1,');
    await assert.rejects(pruneRepository(ctx, {}), (e: PrismError) => e.code === 'REPO_CORRUPT' && /not valid JSON/.test(e.message));
  });
});
