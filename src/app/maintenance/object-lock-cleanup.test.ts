import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { FixedClock } from '../../core/clock.js';
import { closeConnections } from '../../core/open-connections.js';
import { appContext, prngBytes, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { s3Env, s3Server, TestBuckets } from '../../testing/s3-server.js';
import type { AppContext } from '../context.js';
import { createBackup } from '../backups/create-backup.js';
import { listBackups } from '../backups/list-backups.js';
import { cleanupBackups } from './retention.js';

const RETAIN_S = 300;

describe('cleanup under object lock (Ceph RGW)', () => {
  const server = s3Server();
  const buckets = new TestBuckets(server);
  let sb: Sandbox;
  let ctx: AppContext;
  let bucket: string;
  let cacheDir: string;

  before(async () => {
    sb = sandbox();
    bucket = await buckets.create({ objectLock: true });
    cacheDir = mkdtempSync(join(tmpdir(), 'prism-cache-'));
    writeDataset(sb.home, { files: 6 });
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: { object_lock: { mode: 'governance', days: RETAIN_S / 86400 }, retention_policy: { full_backups_count: 1, full_backups_age_days: 0 } },
      }),
    );
    const env = { ...(s3Env(server) as Record<string, string>), PRISM_BACKUP_PATH: `s3:${server.endpoint}/${bucket}/repo`, PRISM_CACHE_DIR: cacheDir };
    Object.assign(process.env, { PRISM_CACHE_DIR: cacheDir, ...s3Env(server) });
    ctx = appContext(sb, env, new FixedClock(new Date()));
  });
  after(async () => {
    await closeConnections();
    await buckets.cleanup();
    rmSync(cacheDir, { recursive: true, force: true });
    sb?.cleanup();
  });

  it('an expired backup under retention stays, is reported with its date, and is never extended again', async () => {
    const first = await createBackup(ctx, { type: 'full', trigger: 'scheduled' });
    writeFileSync(join(sb.home, 'level-2-warm', 'new.bin'), prngBytes(100_000, 4));
    const second = await createBackup(ctx, { type: 'full', trigger: 'scheduled' });
    const r = await cleanupBackups(ctx);
    assert.deepEqual(r.removed, []);
    assert.deepEqual(
      r.retained.map((x) => x.id),
      [first.id],
    );
    assert.ok(Date.parse(r.retained[0]!.until!) > Date.now() + (RETAIN_S - 60) * 1000, r.retained[0]!.until!);
    assert.deepEqual((await listBackups(ctx)).map((m) => m.id).sort(), [first.id, second.id].sort());
    // the state of retention names it as wanted gone: no prune extends it
    const state = await buckets.client.send(new GetObjectCommand({ Bucket: bucket, Key: 'repo/state/retention.json' }));
    const file = JSON.parse(await state.Body!.transformToString()) as { left: Record<string, string[]> };
    assert.deepEqual(Object.values(file.left).flat(), [`snapshots/${first.id}.json`]);
    const before = (await buckets.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `repo/snapshots/${first.id}.json` }))).ObjectLockRetainUntilDate;
    // half the period later (on prism's clock; the store's is what it is): the others are extended, it is not
    (ctx.clock as FixedClock).advance((RETAIN_S / 2 + 10) * 1000);
    const again = await cleanupBackups(ctx);
    assert.deepEqual(
      again.retained.map((x) => x.id),
      [first.id],
    );
    assert.ok(again.prune.retention!.extended > 0, JSON.stringify(again.prune.retention));
    const after = (await buckets.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `repo/snapshots/${first.id}.json` }))).ObjectLockRetainUntilDate;
    assert.equal(after?.toISOString(), before?.toISOString());
    const kept = (await buckets.client.send(new HeadObjectCommand({ Bucket: bucket, Key: `repo/snapshots/${second.id}.json` }))).ObjectLockRetainUntilDate!;
    assert.equal(kept.toISOString(), again.prune.retention!.extended_until);
  });
});
