import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Manifest } from '../repo/index.js';
import { hashTree, json, prism, prismRun, prngBytes, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';
import { remoteRepo, type RemoteRepo } from '../testing/remote-repos.js';
import { rawS3Client, s3Server } from '../testing/s3-server.js';
import { testServers } from '../testing/test-servers.js';

const MiB = 1024 * 1024;

/**
 * An HTTP proxy in front of the Ceph gateway that answers 503 SlowDown (without passing the
 * request on) while `down()` holds, and to every `every`-th request besides; the rest go through
 * unchanged (the Host header too, so the requests' signatures still hold).
 */
async function flakyGateway(target: URL, down: () => boolean, every: number): Promise<{ url: string; refused: () => number; close(): Promise<void> }> {
  let n = 0;
  let refused = 0;
  const server = http.createServer((req, res) => {
    n++;
    if (down() || n % every === 0) {
      refused++;
      req.resume();
      req.on('end', () => {
        res.writeHead(503, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>');
      });
      return;
    }
    const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    refused: () => refused,
    close: () => new Promise((r) => server.close(() => r())),
  };
}

describe('S3 that answers 503 for a while, then every fifth request (CLI)', () => {
  let remote: RemoteRepo;
  let sb: Sandbox;
  let proxy: Awaited<ReturnType<typeof flakyGateway>>;
  let downUntil = 0;

  before(async () => {
    remote = await remoteRepo('s3', 'flaky');
    sb = sandbox();
    writeDataset(sb.home, { files: 8 });
    writeFileSync(join(sb.home, 'level-1-hot', 'big.bin'), prngBytes(20 * MiB, 9));
    proxy = await flakyGateway(new URL(testServers().s3.endpoint), () => Date.now() < downUntil, 5);
  });
  after(async () => {
    await proxy?.close();
    await remote?.cleanup();
    sb?.cleanup();
  });

  it('a backup started while the store is down completes once it is back, and verifies', async () => {
    const viaProxy = remote.location.replace(testServers().s3.endpoint, proxy.url);
    const env = { ...sb.env, ...remote.env, PRISM_BACKUP_PATH: viaProxy, PRISM_BACKUP_CONCURRENCY: '2' };
    downUntil = Date.now() + 4000; // every request refused for 4 s
    const r = await prismRun(['backup', 'create', '--type', 'full', '--json'], env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(json<Manifest>(r).status, 'completed');
    assert.ok(proxy.refused() >= 5, `the proxy refused ${proxy.refused()} requests`);
    // read back past the proxy: everything is there, whole
    const direct = { ...env, PRISM_BACKUP_PATH: remote.location };
    const verify = prism(['backup', 'verify', '--all'], direct);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const target = join(sb.root, 'restored');
    // (through the proxy only asynchronously: the proxy answers from this process's event loop)
    const restore = await prismRun(['backup', 'restore', json<Manifest>(r).id, '--target', target], env);
    assert.equal(restore.code, 0, `a restore through the flaky store too: ${restore.stderr}`);
    const restored = hashTree(target);
    for (const [path, sum] of hashTree(sb.home, ['logs', 'temp', 'config'])) assert.equal(restored.get(path), sum, path);
  });

  it('a store that stays down: ERR_PRISM_STORE_UNAVAILABLE naming the store and the last error, after PRISM_STORE_RETRY_SECONDS', async () => {
    const viaProxy = remote.location.replace(testServers().s3.endpoint, proxy.url);
    downUntil = Date.now() + 60_000;
    const r = await prismRun(['backup', 'list'], { ...sb.env, ...remote.env, PRISM_BACKUP_PATH: viaProxy, PRISM_STORE_RETRY_SECONDS: '2' });
    downUntil = 0;
    assert.equal(r.code, 51, r.stdout + r.stderr);
    assert.match(r.stderr, /ERR_PRISM_STORE_UNAVAILABLE.*kept failing: \d+ attempts over \d+ s, the last: .*(SlowDown|503|reduce your request rate)/s);
    assert.ok(r.stderr.includes(proxy.url.replace('http://', '')), r.stderr);
  });

  it('a bucket that holds something else is not taken for a repository, nor made one', async () => {
    const client = rawS3Client(s3Server());
    const bucket = new URL(remote.location.slice(3)).pathname.split('/')[1]!;
    await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'photos/cat.jpg', Body: Buffer.from('not a repository') }));
    client.destroy();
    const other = `s3:${testServers().s3.endpoint}/${bucket}`;
    const env = { ...sb.env, ...remote.env, PRISM_BACKUP_PATH: other };
    const list = prism(['backup', 'list'], env);
    assert.equal(list.code, 7, list.stdout + list.stderr);
    assert.match(list.stderr, /No prism repository at s3:/);
    const create = prism(['backup', 'create', '--type', 'full'], env);
    assert.notEqual(create.code, 0, 'refused');
    assert.match(create.stderr, /is not empty and holds no prism repository/);
  });

  it('a copy into the store while it is down, then flaky, completes and verifies; nothing is copied twice', async () => {
    const local = { ...sb.env, ...remote.env };
    const made = prism(['backup', 'create', '--type', 'full', '--json'], local);
    assert.equal(made.code, 0, made.stderr);
    const copyLocation = `${remote.location}-copy`;
    const viaProxy = copyLocation.replace(testServers().s3.endpoint, proxy.url);
    const before = proxy.refused();
    downUntil = Date.now() + 3000;
    const r = await prismRun(['backup', 'copy', '--all', '--to', viaProxy, '--json'], local);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(json<{ copied: string[] }>(r).copied, [json<Manifest>(made).id]);
    assert.ok(proxy.refused() - before >= 3, `the proxy refused ${proxy.refused() - before} requests`);
    const verify = prism(['backup', 'verify', '--all', '--repo', copyLocation], local);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    const again = await prismRun(['backup', 'copy', '--all', '--to', viaProxy, '--json'], local);
    assert.equal(json<{ packs_copied: number }>(again).packs_copied, 0);
  });
});
