import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { systemClock } from '../../core/clock.js';
import { isPrismError, retainedUntil } from '../../errors/index.js';
import { backendConformance } from '../../testing/backend-conformance.js';
import { s3Env, s3Server, TestBuckets } from '../../testing/s3-server.js';
import type { ObjectLock } from '../backend.js';
import { retainingOf } from '../retaining.js';
import { RetryingBackend } from '../retrying-backend.js';
import { isStoreError } from '../store-error.js';
import { openS3Backend, type S3Backend } from './index.js';

const server = s3Server();
const buckets = new TestBuckets(server);
const opened: S3Backend[] = [];
const DAY_S = 24 * 60 * 60;

function open(bucket: string, objectLock?: ObjectLock): S3Backend {
  const b = openS3Backend({ kind: 's3', endpoint: server.endpoint, bucket, prefix: 'repo' }, s3Env(server), objectLock ? { objectLock } : {});
  opened.push(b);
  return b;
}

/** A retention of `seconds` (the tests wait retentions out, so they are short). */
const seconds = (mode: ObjectLock['mode'], s: number): ObjectLock => ({ mode, days: s / DAY_S });

const statusOf = (e: unknown): number | undefined => (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;

after(async () => {
  for (const b of opened) await b.close();
  await buckets.cleanup();
});

// A bucket with Object Lock keeps versions, and Ceph RGW 16 lets If-None-Match pass there: the
// contract still holds (one winner of a conditional create, a delete that deletes).
backendConformance('s3 (Ceph RGW), a bucket with Object Lock, no retention set', {
  make: async () => open(await buckets.create({ objectLock: true })),
});

describe('s3 backend with backup.object_lock on Ceph RGW', () => {
  it('writes every object but the locks under retention; a retained version can be neither deleted nor replaced', async () => {
    const bucket = await buckets.create({ objectLock: true });
    const b = open(bucket, seconds('governance', 600));
    const before = Date.now();
    await b.put('data/ab/ab01', Buffer.from('pack'));
    assert.equal(await b.putIfAbsent('snapshots/one.json', Buffer.from('{}')), true);
    await b.put('locks/exclusive.json', Buffer.from('{"pid":1}'));

    for (const key of ['repo/data/ab/ab01', 'repo/snapshots/one.json']) {
      const head = await buckets.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      assert.equal(head.ObjectLockMode, 'GOVERNANCE', key);
      const until = head.ObjectLockRetainUntilDate!.getTime();
      assert.ok(until >= before + 590_000 && until <= Date.now() + 601_000, `${key}: retained until ${head.ObjectLockRetainUntilDate?.toISOString()}`);
    }
    const lock = await buckets.client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'repo/locks/exclusive.json' }));
    assert.equal(lock.ObjectLockMode, undefined, 'locks stay deletable');

    // behind prism's back, with the same credentials: deleting the version is refused ...
    const [version] = (await buckets.versions(bucket, 'repo/data/ab/ab01')).map((v) => v.versionId);
    await assert.rejects(
      buckets.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'repo/data/ab/ab01', VersionId: version })),
      (e) => statusOf(e) === 403,
    );
    // ... and an overwrite only adds a version: the retained one stays, byte for byte
    await buckets.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'repo/data/ab/ab01', Body: 'ransom' }));
    const kept = await buckets.client.send(new GetObjectCommand({ Bucket: bucket, Key: 'repo/data/ab/ab01', VersionId: version }));
    assert.equal(await kept.Body!.transformToString(), 'pack');

    // prism's own delete: refused as protection, with the date; the object reads as before
    await assert.rejects(b.delete('snapshots/one.json'), (e: unknown) => {
      assert.ok(isStoreError(e, 'protected'), String(e));
      assert.ok(e.retainUntil && e.retainUntil.getTime() > Date.now() + 590_000, e.retainUntil?.toISOString());
      return true;
    });
    assert.equal((await b.get('snapshots/one.json')).toString(), '{}');

    // a lock goes whole, with the versions its refreshes left
    await b.put('locks/exclusive.json', Buffer.from('{"pid":1,"refreshed":1}'));
    await b.delete('locks/exclusive.json');
    assert.deepEqual(await buckets.versions(bucket, 'repo/locks/'), []);
  });

  it('through the retries, a refused delete is OBJECT_RETAINED naming the date, not a refusal of the store', async () => {
    const bucket = await buckets.create({ objectLock: true });
    const b = new RetryingBackend(open(bucket, seconds('governance', 300)), systemClock);
    await b.put('index/aa', Buffer.from('index'));
    await assert.rejects(b.delete('index/aa'), (e: unknown) => {
      assert.ok(isPrismError(e) && e.code === 'OBJECT_RETAINED', String(e));
      assert.match(e.message, /index\/aa .* is retained until 20\d\d-.*not damage/);
      assert.ok(retainedUntil(e)!.getTime() > Date.now() + 290_000);
      return true;
    });
    const r = retainingOf(b);
    assert.ok(r, 'a retaining store under the retries');
    assert.deepEqual(r.objectLock, seconds('governance', 300));
  });

  it('a conditional create has one winner, whose version alone is kept, under retention', async () => {
    const bucket = await buckets.create({ objectLock: true });
    const b = open(bucket, seconds('governance', 600));
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => b.putIfAbsent('snapshots/backup_x.json', Buffer.from(`writer ${i}`))));
    assert.equal(results.filter(Boolean).length, 1, `one winner: ${results.join(' ')}`);
    const winner = results.indexOf(true) + 1;
    assert.equal((await b.get('snapshots/backup_x.json')).toString(), `writer ${winner}`);
    assert.equal(await b.putIfAbsent('snapshots/backup_x.json', Buffer.from('late')), false);
    const versions = await buckets.versions(bucket, 'repo/snapshots/');
    assert.equal(versions.length, 1, JSON.stringify(versions));
    const head = await buckets.client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'repo/snapshots/backup_x.json' }));
    assert.equal(head.ObjectLockMode, 'GOVERNANCE');
  });

  it('extends a retention, never shortens one, and after it has passed deletes every version', async () => {
    const bucket = await buckets.create({ objectLock: true });
    const b = open(bucket, seconds('compliance', 2));
    await b.put('data/cd/cd01', Buffer.from('first'));
    await b.put('data/cd/cd01', Buffer.from('second'));
    const r = retainingOf(b)!;
    const first = await r.retentionOf('data/cd/cd01');
    assert.ok(first && first.getTime() <= Date.now() + 2500);
    const later = new Date(Date.now() + 4000);
    await r.extendRetention('data/cd/cd01', later);
    assert.equal((await r.retentionOf('data/cd/cd01'))?.getTime(), later.getTime());
    await r.extendRetention('data/cd/cd01', new Date(Date.now() + 1000)); // shorter: left as it is
    assert.equal((await r.retentionOf('data/cd/cd01'))?.getTime(), later.getTime());
    await assert.rejects(b.delete('data/cd/cd01'), (e: unknown) => isStoreError(e, 'protected'));
    // the older version's own retention may have passed: it went; the current one stays
    assert.equal((await b.get('data/cd/cd01')).toString(), 'second');
    await sleep(Math.max(0, later.getTime() - Date.now()) + 1200);
    await b.delete('data/cd/cd01');
    assert.deepEqual(await buckets.versions(bucket, 'repo/data/'), []);
    assert.equal(await b.exists('data/cd/cd01'), false);
  });

  it('lists delete markers written behind its back, and removing one brings the object back', async () => {
    const bucket = await buckets.create({ objectLock: true });
    const b = open(bucket, seconds('governance', 600));
    await b.put('snapshots/two.json', Buffer.from('{"id":2}'));
    await buckets.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'repo/snapshots/two.json' }));
    assert.equal(await b.exists('snapshots/two.json'), false, 'hidden by the marker');
    const r = retainingOf(b)!;
    const versions = await r.listVersions('snapshots');
    assert.deepEqual(
      versions.map((v) => [v.name, v.deleteMarker, v.latest]),
      [
        ['snapshots/two.json', true, true],
        ['snapshots/two.json', false, false],
      ],
    );
    assert.ok(versions.every((v) => v.modified.getTime() > Date.now() - 60_000));
    await r.deleteVersion('snapshots/two.json', versions[0]!.versionId);
    assert.equal((await b.get('snapshots/two.json')).toString(), '{"id":2}');
  });

  it('a bucket without Object Lock: OBJECT_LOCK_UNAVAILABLE with the fix, asked of the store once', async () => {
    const bucket = await buckets.create();
    const b = open(bucket, seconds('compliance', 60));
    const unavailable = (e: unknown): boolean => {
      assert.ok(isPrismError(e) && e.code === 'OBJECT_LOCK_UNAVAILABLE', String(e));
      assert.match(e.message, new RegExp(`bucket ${bucket} .*has no Object Lock.*object-lock-enabled-for-bucket`));
      return true;
    };
    await assert.rejects(b.put('data/ef/ef01', Buffer.from('x')), unavailable);
    await assert.rejects(b.put('index/ff', Buffer.from('x')), unavailable);
    await assert.rejects(b.putIfAbsent('config.json', Buffer.from('x')), unavailable);
    assert.deepEqual(b.requestCounts(), { GetObjectLockConfiguration: 1, PutObject: 1 });
    assert.deepEqual(await buckets.keys(bucket), []);
    // the locks need no retention: they are written as ever
    await b.put('locks/shared-1.json', Buffer.from('{}'));
    // a conditional create first (a new repository's config): made, found unprotected, undone
    const fresh = open(bucket, seconds('compliance', 60));
    await assert.rejects(fresh.putIfAbsent('snapshots/x.json', Buffer.from('{}')), unavailable);
    assert.deepEqual(
      (await buckets.keys(bucket)).map((k) => k.key),
      ['repo/locks/shared-1.json'],
    );
  });
});
