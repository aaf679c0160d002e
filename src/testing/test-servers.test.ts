import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { BlobServiceClient, RestError, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Client, type SFTPWrapper } from 'ssh2';
import { knownHostKeys, knownHostVerifier } from './known-hosts.js';
import { testServers, uniqueBucket, uniqueContainer, uniqueName, uniqueSftpDir } from './test-servers.js';

const scratch = mkdtempSync(join(tmpdir(), 'prism-test-servers-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

describe('the test servers', () => {
  it('S3 (Ceph RGW): a bucket, a conditional put that succeeds once and is refused (412) the second time, a listing', async () => {
    const { s3 } = testServers();
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
      forcePathStyle: true,
      // otherwise streamed bodies are sent with checksum framing the gateway answers 411 to
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const Bucket = uniqueBucket('test-servers');
    await client.send(new CreateBucketCommand({ Bucket }));
    try {
      await client.send(new PutObjectCommand({ Bucket, Key: 'lock', Body: 'first', IfNoneMatch: '*' }));
      await assert.rejects(
        client.send(new PutObjectCommand({ Bucket, Key: 'lock', Body: 'second', IfNoneMatch: '*' })),
        (e) => e instanceof S3ServiceException && e.$metadata.httpStatusCode === 412,
      );
      const listed = await client.send(new ListObjectsV2Command({ Bucket }));
      assert.deepEqual(
        listed.Contents?.map((o) => [o.Key, o.Size]),
        [['lock', 5]],
      );
      const got = await client.send(new GetObjectCommand({ Bucket, Key: 'lock' }));
      assert.equal(await got.Body?.transformToString(), 'first');
    } finally {
      await client.send(new DeleteObjectCommand({ Bucket, Key: 'lock' }));
      await client.send(new DeleteBucketCommand({ Bucket }));
      client.destroy();
    }
  });

  it('Azure Blob (Azurite): a container, a conditional upload that succeeds once and is refused the second time', async () => {
    const { azure } = testServers();
    const service = new BlobServiceClient(azure.endpoint, new StorageSharedKeyCredential(azure.accountName, azure.accountKey));
    const container = service.getContainerClient(uniqueContainer('test-servers'));
    await container.create();
    try {
      const blob = container.getBlockBlobClient('lock');
      await blob.upload('first', 5, { conditions: { ifNoneMatch: '*' } });
      await assert.rejects(
        blob.upload('second', 6, { conditions: { ifNoneMatch: '*' } }),
        (e) => e instanceof RestError && (e.statusCode === 409 || e.statusCode === 412),
      );
      assert.equal((await blob.downloadToBuffer()).toString(), 'first');
      const names: string[] = [];
      for await (const b of container.listBlobsFlat()) names.push(b.name);
      assert.deepEqual(names, ['lock']);
    } finally {
      await container.delete();
    }
  });

  it('SFTP (OpenSSH): a key login with the host key checked against known_hosts, a file written and read back', async () => {
    const { sftp } = testServers();
    const conn = new Client();
    await new Promise<void>((resolve, reject) => {
      conn.once('ready', resolve).once('error', reject);
      conn.connect({
        host: sftp.host,
        port: sftp.port,
        username: sftp.user,
        privateKey: readFileSync(sftp.keyFile),
        hostVerifier: knownHostVerifier(sftp.knownHostsFile, sftp.host, sftp.port),
        readyTimeout: 10_000,
      });
    });
    try {
      const session = await new Promise<SFTPWrapper>((resolve, reject) => conn.sftp((err, s) => (err ? reject(err) : resolve(s))));
      const call = (fn: (cb: (err?: Error | null) => void) => void) => new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));
      const dir = uniqueSftpDir('test-servers');
      const file = `${dir}/hello.txt`;
      await call((cb) => session.mkdir(dir, cb));
      await call((cb) => session.writeFile(file, 'hello over sftp', cb));
      const back = await new Promise<Buffer>((resolve, reject) => session.readFile(file, (err, data) => (err ? reject(err) : resolve(data))));
      assert.equal(back.toString(), 'hello over sftp');
      await call((cb) => session.unlink(file, cb));
      await call((cb) => session.rmdir(dir, cb));
    } finally {
      conn.end();
    }
  });
});

describe('test server helpers', () => {
  it('fails, saying what to run, when endpoints.json or one server in it is missing', () => {
    assert.throws(() => testServers(join(scratch, 'none.json')), /run `node scripts\/servers\.mjs start`/);
    const onlyS3 = join(scratch, 'only-s3.json');
    writeFileSync(onlyS3, JSON.stringify({ s3: { endpoint: 'http://127.0.0.1:1', region: 'r', accessKeyId: 'a', secretAccessKey: 's', adminCommand: 'c' } }));
    assert.equal(testServers(onlyS3).s3.endpoint, 'http://127.0.0.1:1');
    assert.throws(() => testServers(onlyS3).sftp, /SFTP \(OpenSSH\) test server is not running.*node scripts\/servers\.mjs start sftp/);
  });

  it('unique names are fresh and valid S3 bucket and Azure container names, whatever the prefix', () => {
    const valid = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
    for (const prefix of ['test-servers', 'Upper_Case and spaces', '--', '', 'x'.repeat(100), 'a--b..c']) {
      const a = uniqueName(prefix);
      assert.match(a, valid, prefix);
      assert.notEqual(a, uniqueName(prefix));
    }
    assert.match(uniqueBucket('Locks'), /^locks-/);
    assert.match(uniqueContainer('Locks'), /^locks-/);
  });

  it('the known_hosts check takes only the listed key, for that host and port', () => {
    const file = join(scratch, 'known_hosts');
    const wire = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => {
      // ssh-ed25519 wire format: string "ssh-ed25519", string <32-byte key>
      const raw = k.export({ format: 'der', type: 'spki' }).subarray(-32);
      const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
      return Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
    };
    const known = wire(generateKeyPairSync('ed25519').publicKey);
    const other = wire(generateKeyPairSync('ed25519').publicKey);
    writeFileSync(
      file,
      `# comment\n@revoked [127.0.0.1]:2222 ssh-ed25519 ${other.toString('base64')}\n[127.0.0.1]:2222 ssh-ed25519 ${known.toString('base64')}\n`,
    );
    const verify = knownHostVerifier(file, '127.0.0.1', 2222);
    assert.equal(verify(known), true);
    assert.equal(verify(other), false);
    assert.deepEqual(knownHostKeys(file, '127.0.0.1', 22), []);
    assert.throws(() => knownHostVerifier(file, '127.0.0.2', 2222), /has no key for 127\.0\.0\.2:2222/);
  });
});
