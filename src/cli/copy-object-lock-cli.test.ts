/**
 * A copy on an S3 bucket with Object Lock (`object_lock` of a copy in backup.copies): everything
 * the copy writes is retained, a compromised host's credentials cannot delete it, and the copy
 * still verifies. The primary, on a local disk, has no lock.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, GetObjectRetentionCommand } from '@aws-sdk/client-s3';
import type { CopyReport } from '../app/copies/copy-backups.js';
import { json, prism, prngBytes, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';
import { s3Env, s3Server, TestBuckets } from '../testing/s3-server.js';

const MiB = 1024 * 1024;

describe('a copy on an S3 bucket with Object Lock (CLI)', () => {
  const server = s3Server();
  const buckets = new TestBuckets(server);
  let sb: Sandbox;
  let bucket: string;
  let env: Record<string, string>;
  let cacheDir: string;

  before(async () => {
    sb = sandbox();
    bucket = await buckets.create({ objectLock: true });
    cacheDir = mkdtempSync(join(tmpdir(), 'prism-cache-'));
    env = { ...sb.env, ...(s3Env(server) as Record<string, string>), PRISM_CACHE_DIR: cacheDir, PRISM_STORE_RETRY_SECONDS: '20' };
    writeDataset(sb.home, { files: 8 });
    writeFileSync(join(sb.home, 'level-1-hot', 'big.bin'), prngBytes(6 * MiB, 3));
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: { copies: [{ name: 'vault', repository: `s3:${server.endpoint}/${bucket}/repo`, object_lock: { mode: 'governance', days: 20 / 86400 } }] },
      }),
    );
    assert.equal(prism(['backup', 'create', '--type', 'full'], env).code, 0);
  });
  after(async () => {
    await buckets.cleanup();
    rmSync(cacheDir, { recursive: true, force: true });
    sb?.cleanup();
  });

  it('writes every object of the copy but its locks under retention; a delete of a version fails; the copy verifies', async () => {
    const r = prism(['backup', 'copy', '--all', '--to', 'vault', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(json<CopyReport>(r).copied.length, 1);
    const versions = (await buckets.versions(bucket, 'repo/')).filter((v) => !v.deleteMarker);
    const kept = versions.filter((v) => !v.key.startsWith('repo/locks/'));
    assert.ok(kept.some((v) => v.key.startsWith('repo/data/')) && kept.some((v) => v.key.startsWith('repo/snapshots/')), kept.map((v) => v.key).join());
    for (const v of kept) {
      const ret = await buckets.client.send(new GetObjectRetentionCommand({ Bucket: bucket, Key: v.key, VersionId: v.versionId }));
      assert.equal(ret.Retention?.Mode, 'GOVERNANCE', v.key);
      assert.ok(ret.Retention!.RetainUntilDate!.getTime() > Date.now(), v.key);
    }
    const pack = kept.find((v) => v.key.startsWith('repo/data/'))!;
    await assert.rejects(buckets.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: pack.key, VersionId: pack.versionId })));
    const v = prism(['backup', 'verify', '--all', '--repo', 'vault'], env);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    // the primary, on a local disk, is not under any lock
    assert.equal(prism(['backup', 'verify', '--all'], env).code, 0);
  });
});
