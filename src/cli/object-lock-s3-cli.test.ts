/**
 * backup.object_lock on a Ceph RGW bucket with Object Lock, as processes: backups written under
 * retention, what the bucket's own credentials can and cannot do to them behind prism's back, and
 * prune leaving what is retained and saying until when. Retentions of seconds, waited out.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { Manifest, RetentionReport } from '../repo/index.js';
import { json, prism, prngBytes, sandbox, writeDataset, type CliResult, type Sandbox } from '../testing/fixtures.js';
import { s3Env, s3Server, TestBuckets } from '../testing/s3-server.js';

const MiB = 1024 * 1024;
/** The retention of the test's objects: short, so that the test can wait it out. */
const RETAIN_S = 20;

interface PruneJson {
  freedBytes: number;
  retainedPacks: string[];
  retention: RetentionReport | null;
}

describe('backup.object_lock on S3 (Ceph RGW, CLI)', () => {
  const server = s3Server();
  const buckets = new TestBuckets(server);
  let sb: Sandbox;
  let bucket: string;
  let env: Record<string, string>;
  let cacheDir: string;
  const cli = (args: string[]): CliResult => prism(args, env);
  const ok = (args: string[]): CliResult => {
    const r = cli(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };
  const head = (key: string) => buckets.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const packKeys = async (): Promise<string[]> => (await buckets.keys(bucket)).map((k) => k.key).filter((k) => k.startsWith('repo/data/'));
  let first: Manifest;
  let second: Manifest;
  let firstAt: number;

  before(async () => {
    sb = sandbox();
    bucket = await buckets.create({ objectLock: true });
    cacheDir = mkdtempSync(join(tmpdir(), 'prism-cache-'));
    env = {
      ...sb.env,
      ...(s3Env(server) as Record<string, string>),
      PRISM_BACKUP_PATH: `s3:${server.endpoint}/${bucket}/repo`,
      PRISM_CACHE_DIR: cacheDir,
      PRISM_BACKUP_CONCURRENCY: '2',
      PRISM_STORE_RETRY_SECONDS: '20',
    };
    writeDataset(sb.home, { files: 8 });
    // over 8 MiB: chunk workers write packs too, and must write them under retention
    writeFileSync(join(sb.home, 'level-1-hot', 'big.bin'), prngBytes(10 * MiB, 7));
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { object_lock: { mode: 'governance', days: RETAIN_S / 86400 } } }));
  });
  after(async () => {
    await buckets.cleanup();
    rmSync(cacheDir, { recursive: true, force: true });
    sb?.cleanup();
  });

  it('a bucket without Object Lock is refused at the first write, and nothing stays in it', async () => {
    const plain = await buckets.create();
    const r = prism(['backup', 'create', '--type', 'full'], { ...env, PRISM_BACKUP_PATH: `s3:${server.endpoint}/${plain}/repo` });
    assert.equal(r.code, 55, r.stdout + r.stderr);
    assert.match(r.stderr, /ERR_PRISM_OBJECT_LOCK.*has no Object Lock.*--object-lock-enabled-for-bucket/s);
    assert.deepEqual(await buckets.keys(plain), []);
  });

  it('a backup writes every object but the locks under retention', async () => {
    firstAt = Date.now();
    first = json<Manifest>(ok(['backup', 'create', '--type', 'full', '--json']));
    assert.equal(first.status, 'completed');
    const keys = (await buckets.keys(bucket)).map((k) => k.key);
    assert.ok((await packKeys()).length >= 2, keys.join(' '));
    assert.deepEqual(
      keys.filter((k) => k.startsWith('repo/locks/')),
      [],
      'the locks are gone',
    );
    for (const key of keys) {
      const h = await head(key);
      assert.equal(h.ObjectLockMode, 'GOVERNANCE', key);
      assert.ok(h.ObjectLockRetainUntilDate!.getTime() >= firstAt + RETAIN_S * 1000 - 1000, `${key}: ${h.ObjectLockRetainUntilDate?.toISOString()}`);
    }
  });

  it('deleting a backup under retention is refused as protection (OBJECT_RETAINED), not as damage', () => {
    const r = cli(['backup', 'delete', first.id, '--confirm', '--force']);
    assert.equal(r.code, 54, r.stdout + r.stderr);
    assert.match(r.stderr, /ERR_PRISM_OBJECT_RETAINED/);
    assert.match(r.stderr, /retained until 20\d\d-\d\d-\d\dT.*protection, not damage/s);
    assert.doesNotMatch(r.stderr, /corrupt|damaged|CHECKSUM/i);
    assert.equal(json<Manifest[]>(ok(['backup', 'list', '--json'])).length, 1);
  });

  it('the same credentials cannot delete a version, and an overwrite keeps the original', async () => {
    const [pack] = await packKeys();
    const [version] = await buckets.versions(bucket, pack!);
    await assert.rejects(
      buckets.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: pack!, VersionId: version!.versionId })),
      (e: unknown) => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 403,
    );
    const ransom = await buckets.client.send(new PutObjectCommand({ Bucket: bucket, Key: pack!, Body: 'encrypted by ransomware' }));
    const kept = await buckets.client.send(new GetObjectCommand({ Bucket: bucket, Key: pack!, VersionId: version!.versionId }));
    assert.equal(
      Buffer.from(await kept.Body!.transformToByteArray())
        .subarray(0, 8)
        .toString('latin1'),
      'PRISMPK1',
      'the pack as prism wrote it',
    );
    // the operator's recovery: the version the overwrite added goes (it has no retention), the original reads again
    await buckets.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: pack!, VersionId: ransom.VersionId }));
    ok(['backup', 'verify', '--all']);
  });

  it('a backup hidden by a delete marker stops prune (OBJECTS_HIDDEN); repair undelete brings it back', async () => {
    const manifest = `repo/snapshots/${first.id}.json`;
    await buckets.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: manifest }));
    assert.deepEqual(json<Manifest[]>(ok(['backup', 'list', '--json'])), [], 'hidden from prism');
    const packs = await packKeys();
    const stopped = cli(['backup', 'prune']);
    assert.equal(stopped.code, 57, stopped.stdout + stopped.stderr);
    assert.match(stopped.stderr, new RegExp(`ERR_PRISM_OBJECTS_HIDDEN.*snapshots/${first.id}\\.json.*repair undelete`, 's'));
    assert.deepEqual(await packKeys(), packs, 'prune removed nothing');
    const r = json<{ restored: string[]; markers: number }>(ok(['backup', 'repair', 'undelete', '--json']));
    assert.deepEqual([r.restored, r.markers], [[`snapshots/${first.id}.json`], 1]);
    assert.deepEqual(
      json<Manifest[]>(ok(['backup', 'list', '--json'])).map((m) => m.id),
      [first.id],
    );
  });

  it('delete once the first backup’s retention has passed: prune leaves what is retained and says until when; verify is clean', async () => {
    await sleep(Math.max(0, firstAt + RETAIN_S * 1000 + 1500 - Date.now()));
    writeFileSync(join(sb.home, 'level-1-hot', 'big.bin'), prngBytes(10 * MiB, 8));
    const secondAt = Date.now();
    second = json<Manifest>(ok(['backup', 'create', '--type', 'full', '--json']));
    // a pack a killed backup left (nothing indexes it), written under a retention of two minutes
    const orphan = `repo/data/ee/${'ee'.repeat(32)}`;
    await buckets.client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: orphan,
        Body: prngBytes(4096, 3),
        ObjectLockMode: 'GOVERNANCE',
        ObjectLockRetainUntilDate: new Date(Date.now() + 120_000),
      }),
    );
    const r = json<{ deleted: boolean; prune: PruneJson }>(ok(['backup', 'delete', first.id, '--confirm', '--force', '--json']));
    assert.equal(r.deleted, true, 'its retention had passed: it went');
    const ret = r.prune.retention!;
    assert.equal(ret.mode, 'governance');
    assert.ok(r.prune.freedBytes > 10 * MiB * 0.9, `the first backup's big file went: ${r.prune.freedBytes}`);
    // left: the orphan (two minutes), and the second backup's index file, which the new index replaces (its retention)
    assert.ok(r.prune.retainedPacks.includes(orphan.slice('repo/'.length)), JSON.stringify(r.prune));
    assert.ok(ret.retained >= 2, JSON.stringify(ret));
    const firstUntil = Date.parse(ret.retained_until_first!);
    assert.ok(firstUntil >= secondAt + RETAIN_S * 1000 - 2000 && firstUntil <= Date.now() + RETAIN_S * 1000, ret.retained_until_first!);
    assert.ok(Date.parse(ret.retained_until_last!) >= Date.now() + 60_000, ret.retained_until_last!);
    assert.ok(ret.extended >= 1, 'the first backup’s objects the second still needs had passed half their retention');
    // on the store itself: the config, written with the first backup, is locked again for a period
    const config = await head('repo/config.json');
    assert.ok(config.ObjectLockRetainUntilDate!.getTime() >= Date.now() + (RETAIN_S * 1000) / 2, config.ObjectLockRetainUntilDate!.toISOString());
    assert.equal(config.ObjectLockRetainUntilDate!.toISOString(), ret.extended_until);
    assert.ok(
      (await buckets.keys(bucket)).some((k) => k.key === orphan),
      'the orphan stays',
    );

    const text = ok(['backup', 'prune', '--dry-run']).stdout;
    assert.match(text, /Object lock \(governance, [\d.e-]+ days\): \d+ object\(s\), .* under retention \(protection, not damage\); the first can go after /);
    assert.deepEqual(
      json<Manifest[]>(ok(['backup', 'list', '--json'])).map((m) => m.id),
      [second.id],
    );
    ok(['backup', 'verify', '--all']);
  });

  it('a later prune removes what has come out of retention; the backup left still verifies and restores', async () => {
    const before = await buckets.keys(bucket);
    await sleep(RETAIN_S * 1000 + 1500);
    const p = json<PruneJson>(ok(['backup', 'prune', '--json']));
    const after = await buckets.keys(bucket);
    assert.ok(after.length < before.length, `${before.length} → ${after.length}`);
    assert.deepEqual(p.retention!.retained, 1, JSON.stringify(p.retention));
    assert.ok(Date.parse(p.retention!.retained_until_first!) > Date.now(), 'the orphan, until its two minutes are up');
    ok(['backup', 'verify', '--all']);
    const target = join(sb.root, 'restored');
    ok(['backup', 'restore', second.id, '--target', target]);
  });
});
