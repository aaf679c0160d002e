import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { FixedClock } from '../../core/clock.js';
import { isPrismError } from '../../errors/index.js';
import { backendConformance } from '../../testing/backend-conformance.js';
import { s3Env, s3Server, TestBuckets } from '../../testing/s3-server.js';
import { namesOf } from '../backend.js';
import { MetadataCache } from '../metadata-cache.js';
import { RetryingBackend } from '../retrying-backend.js';
import { isStoreError, ObjectNotFoundError, type StoreError } from '../store-error.js';
import { openS3Backend, type S3Backend } from './index.js';

const server = s3Server();
const buckets = new TestBuckets(server);
const opened: S3Backend[] = [];

function open(bucket: string, prefix = '', env: NodeJS.ProcessEnv = s3Env(server)): S3Backend {
  const b = openS3Backend({ kind: 's3', endpoint: server.endpoint, bucket, prefix }, env);
  opened.push(b);
  return b;
}

backendConformance('s3 (Ceph RGW)', {
  make: async () => open(await buckets.create(), 'repos/one'),
});

const text = (s: string): Buffer => Buffer.from(s, 'utf8');

/** Records one request header per object key, from a middleware below signing (what goes on the wire). */
async function recordHeader(b: S3Backend, header: string): Promise<Map<string, string | undefined>> {
  const seen = new Map<string, string | undefined>();
  (await b.s3Client()).middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { method: string; path: string; headers: Record<string, string> };
      if (req.method === 'PUT') seen.set(decodeURIComponent(req.path).split('/').slice(2).join('/'), req.headers[header]);
      return next(args);
    },
    { step: 'deserialize', name: `record-${header}` },
  );
  return seen;
}

const storeError = (kind: StoreError['kind'], ...words: (string | RegExp)[]) => {
  return (e: unknown): boolean => {
    assert.ok(isStoreError(e, kind), `expected a ${kind} StoreError, got ${String(e)}`);
    for (const w of words) assert.match(e.message, typeof w === 'string' ? new RegExp(w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')) : w);
    return true;
  };
};

describe('s3 backend on Ceph RGW', () => {
  let bucket: string;
  before(async () => {
    bucket = await buckets.create();
  });
  after(async () => {
    for (const b of opened) await b.close();
    await buckets.cleanup();
  });

  it('a 16 MiB pack written in pieces reads back byte-exact with the SDK’s own GetObject, under the prefix', async () => {
    const b = open(bucket, 'backups/host-a');
    const pack = randomBytes(16 * 1024 * 1024);
    const w = b.openAtomic('data');
    for (let off = 0; off < pack.length; off += 10_000) w.write(pack.subarray(off, off + 10_000));
    await w.commit('data/5e/5eed');
    const raw = await buckets.client.send(new GetObjectCommand({ Bucket: bucket, Key: 'backups/host-a/data/5e/5eed' }));
    const bytes = Buffer.from(await raw.Body!.transformToByteArray());
    assert.equal(bytes.length, pack.length);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), createHash('sha256').update(pack).digest('hex'));
  });

  it('put + get + list is exactly 3 requests, counted by operation', async () => {
    const b = open(bucket, 'count');
    await b.put('snapshots/s.json', text('{}'));
    await b.get('snapshots/s.json');
    await b.list('snapshots');
    assert.deepEqual(b.requestCounts(), { GetObject: 1, ListObjectsV2: 1, PutObject: 1 });
  });

  it('a manifest written through the metadata cache is read by the next command from its copy: a listing, no GetObject', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-s3-cache-'));
    try {
      const body = text('{"id":"backup_1","status":"completed"}');
      await new MetadataCache(open(bucket, 'cached'), dir).put('snapshots/backup_1.json', body);
      const next = open(bucket, 'cached');
      const cache = new MetadataCache(next, dir);
      const [o] = await cache.list('snapshots');
      assert.deepEqual(await cache.get(o!.name, { listed: o! }), Buffer.from(body));
      assert.deepEqual(next.requestCounts(), { ListObjectsV2: 1 });
      // written again by another host: the listing's MD5 changes, the store answers
      await open(bucket, 'cached').put('snapshots/backup_1.json', text('{"id":"backup_1","status":"failed"}'));
      const after = open(bucket, 'cached');
      const again = new MetadataCache(after, dir);
      const [o2] = await again.list('snapshots');
      assert.equal((await again.get(o2!.name, { listed: o2! })).toString(), '{"id":"backup_1","status":"failed"}');
      assert.deepEqual(after.requestCounts(), { GetObject: 1, ListObjectsV2: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists only under its prefix, with names relative to it; the bucket root works as a repository too', async () => {
    const own = await buckets.create();
    await buckets.client.send(new PutObjectCommand({ Bucket: own, Key: 'other/config.json', Body: 'x' }));
    await buckets.client.send(new PutObjectCommand({ Bucket: own, Key: 'repo/data/', Body: '', ContentLength: 0 })); // a console's folder marker
    await buckets.client.send(new PutObjectCommand({ Bucket: own, Key: 'repository/config.json', Body: 'not ours' }));
    const b = open(own, 'repo');
    await b.put('config.json', text('{"v":1}'));
    await b.put('data/00/0001', text('pack'));
    // with each object's MD5 (the ETag of a single-part upload) and a version that changes when it is written again
    const md5 = (s: string): string => createHash('md5').update(s).digest('hex');
    assert.deepEqual(await b.list(''), [
      { name: 'config.json', size: 7, md5: md5('{"v":1}'), version: `"${md5('{"v":1}')}"` },
      { name: 'data/00/0001', size: 4, md5: md5('pack'), version: `"${md5('pack')}"` },
    ]);
    assert.deepEqual(namesOf(await open(own).list('')), ['other/config.json', 'repo/config.json', 'repo/data/00/0001', 'repository/config.json']);
  });

  it('packs carry PRISM_S3_STORAGE_CLASS, metadata none (STANDARD); RGW refuses a class its placement lacks, and the message says which variable', async () => {
    const b = open(bucket, 'classes', s3Env(server, { PRISM_S3_STORAGE_CLASS: 'standard_ia' }));
    const sent = await recordHeader(b, 'x-amz-storage-class');
    // RGW (Pacific) knows only the classes of its placement target: STANDARD unless configured
    await assert.rejects(b.put('data/aa/aa01', text('pack')), storeError('permanent', 'STANDARD_IA', 'PRISM_S3_STORAGE_CLASS'));
    assert.equal(sent.get('classes/data/aa/aa01'), 'STANDARD_IA');
    await b.put('index/i1', text('index'));
    await b.put('snapshots/s1.json', text('{}'));
    assert.equal(await b.putIfAbsent('locks/l1.json', text('{}')), true);
    for (const k of ['classes/index/i1', 'classes/snapshots/s1.json', 'classes/locks/l1.json']) assert.equal(sent.get(k), undefined, k);

    const std = open(bucket, 'classes', s3Env(server, { PRISM_S3_STORAGE_CLASS: 'STANDARD' }));
    const sentStd = await recordHeader(std, 'x-amz-storage-class');
    await std.put('data/bb/bb01', text('pack'));
    assert.equal(sentStd.get('classes/data/bb/bb01'), 'STANDARD');
    const listed = (await buckets.keys(bucket)).filter((k) => k.key.startsWith('classes/'));
    assert.deepEqual(
      listed.map((k) => [k.key, k.storageClass]),
      [
        ['classes/data/bb/bb01', 'STANDARD'],
        ['classes/index/i1', 'STANDARD'],
        ['classes/locks/l1.json', 'STANDARD'],
        ['classes/snapshots/s1.json', 'STANDARD'],
      ],
    );
  });

  it('a body damaged on the way is refused by the store (signed SHA-256), reported transient, and the old object stays', async () => {
    const b = open(bucket, 'damage');
    await b.put('index/i1', text('the good index'));
    (await b.s3Client()).middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { body: unknown };
        // flip one bit after signing: what a faulty NIC or proxy would do
        if (Buffer.isBuffer(req.body)) {
          const copy = Buffer.from(req.body);
          copy[3] = copy[3]! ^ 1;
          req.body = copy;
        }
        return next(args);
      },
      { step: 'deserialize', name: 'damage' },
    );
    await assert.rejects(b.put('index/i1', text('the new index')), storeError('transient', 'XAmzContentSHA256Mismatch'));
    await assert.rejects(b.put('index/i2', text('another')), storeError('transient'));
    const head = await buckets.client.send(new GetObjectCommand({ Bucket: bucket, Key: 'damage/index/i1' }));
    assert.equal(await head.Body!.transformToString(), 'the good index');
    await assert.rejects(buckets.client.send(new HeadObjectCommand({ Bucket: bucket, Key: 'damage/index/i2' })), { name: 'NotFound' });
  });

  it('a pack of many parts goes out as a stream with its SHA-256 signed: damage to the stream is refused too', async () => {
    const b = open(bucket, 'damage-stream');
    (await b.s3Client()).middlewareStack.add(
      (next) => async (args) => {
        const req = args.request as { method: string; body: unknown; headers: Record<string, string> };
        if (req.method !== 'PUT') return next(args);
        assert.match(req.headers['x-amz-content-sha256']!, /^[0-9a-f]{64}$/, 'a signed payload hash, not UNSIGNED-PAYLOAD');
        if (!Buffer.isBuffer(req.body)) {
          const { Readable } = await import('node:stream');
          const chunks: Buffer[] = [];
          for await (const c of req.body as AsyncIterable<Buffer>) chunks.push(c);
          const all = Buffer.concat(chunks);
          all[all.length - 1] = all[all.length - 1]! ^ 0x80;
          req.body = Readable.from([all]);
        }
        return next(args);
      },
      { step: 'deserialize', name: 'damage-stream' },
    );
    await assert.rejects(b.put('data/cc/cc01', [randomBytes(3000), randomBytes(5000)]), storeError('transient', 'XAmzContentSHA256Mismatch'));
    assert.deepEqual(await b.list(''), []);
  });

  it('credentials from AWS_PROFILE and a credentials file (no keys in the environment)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-aws-'));
    try {
      const file = join(dir, 'credentials');
      writeFileSync(file, `[prism-tests]\naws_access_key_id = ${server.accessKeyId}\naws_secret_access_key = ${server.secretAccessKey}\n`);
      const env = { AWS_PROFILE: 'prism-tests', AWS_SHARED_CREDENTIALS_FILE: file, AWS_CONFIG_FILE: join(dir, 'config'), AWS_EC2_METADATA_DISABLED: 'true' };
      const b = open(bucket, 'profile', env);
      await b.put('config.json', text('{}'));
      assert.deepEqual(await b.get('config.json'), text('{}'));
      const missing = open(bucket, 'profile', { ...env, AWS_PROFILE: 'nobody' });
      await assert.rejects(missing.get('config.json'), storeError('permanent', 'nobody'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('no credentials anywhere: permanent, naming the variables to set, and no request sent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'prism-aws-'));
    try {
      const b = open(bucket, '', { AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_CONFIG_FILE: join(dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true' });
      const t0 = performance.now();
      await assert.rejects(b.get('config.json'), storeError('permanent', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE'));
      assert.ok(performance.now() - t0 < 2000, 'nothing waited for');
      assert.deepEqual(b.requestCounts(), {});
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a wrong secret: permanent, and through the retrying wrapper the operator’s STORE_REFUSED naming the store and the keys', async () => {
    const b = open(bucket, '', s3Env(server, { AWS_SECRET_ACCESS_KEY: 'not-the-secret' }));
    await assert.rejects(b.get('config.json'), storeError('permanent', 'SignatureDoesNotMatch', 'AWS_SECRET_ACCESS_KEY'));
    await assert.rejects(b.put('config.json', text('{}')), storeError('permanent', 'AWS_SECRET_ACCESS_KEY'));
    await assert.rejects(b.exists('config.json'), storeError('permanent', 'HTTP 403', 'AWS_SECRET_ACCESS_KEY')); // a HEAD answer carries no code
    const unknownKey = open(bucket, '', s3Env(server, { AWS_ACCESS_KEY_ID: 'nobody' }));
    await assert.rejects(unknownKey.list(''), storeError('permanent', 'InvalidAccessKeyId', 'AWS_ACCESS_KEY_ID'));
    const wrapped = new RetryingBackend(b, new FixedClock(new Date('2026-12-07T12:00:00Z')));
    await assert.rejects(wrapped.list('snapshots'), (e: unknown) => {
      assert.ok(isPrismError(e) && e.code === 'STORE_REFUSED', String(e));
      assert.match(e.message, new RegExp(`s3:${server.endpoint}/${bucket}`));
      assert.match(e.message, /AWS_SECRET_ACCESS_KEY/);
      return true;
    });
    assert.equal(b.requestCounts().ListObjectsV2, 1, 'refused at once, not retried');
  });

  it('an unknown bucket: permanent, saying to create it and how', async () => {
    const b = open('prism-no-such-bucket-4f1d');
    const says = storeError(
      'permanent',
      'prism-no-such-bucket-4f1d',
      'create the bucket first',
      `aws s3 mb s3://prism-no-such-bucket-4f1d --endpoint-url ${server.endpoint}`,
    );
    await assert.rejects(b.get('config.json'), says);
    await assert.rejects(b.put('config.json', text('{}')), says);
    await assert.rejects(b.putIfAbsent('locks/a.json', text('{}')), says);
    await assert.rejects(b.list(''), says);
    await assert.rejects(b.delete('locks/a.json'), says);
    // a HEAD answer has no body to tell a missing bucket from a missing object
    assert.equal(await b.exists('config.json'), false);
    await assert.rejects(b.size('config.json'), ObjectNotFoundError);
  });

  it('put and get of a 16 MiB pack: throughput on loopback', async (t) => {
    const b = open(bucket, 'speed');
    const pack = randomBytes(16 * 1024 * 1024);
    const parts = Array.from({ length: 16 }, (_, i) => pack.subarray(i << 20, (i + 1) << 20));
    const into = { buffer: Buffer.alloc(0) };
    const rounds = 3;
    let putMs = 0;
    let getMs = 0;
    for (let i = 0; i < rounds; i++) {
      let t0 = performance.now();
      await b.put(`data/ee/ee0${i}`, parts);
      putMs += performance.now() - t0;
      t0 = performance.now();
      const back = await b.get(`data/ee/ee0${i}`, { into });
      getMs += performance.now() - t0;
      assert.ok(back.equals(pack));
    }
    const mbps = (ms: number): string => ((rounds * 16) / (ms / 1000)).toFixed(0);
    t.diagnostic(`16 MiB put ${mbps(putMs)} MiB/s, get ${mbps(getMs)} MiB/s (RGW memstore on loopback, ${rounds} rounds)`);
  });
});
