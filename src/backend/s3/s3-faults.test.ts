/**
 * The S3 backend when the network or the store misbehaves: loopback servers that refuse, throttle,
 * stall, cut a body short or reset an upload (in front of the real RGW), each checked for the
 * error kind the retrying wrapper acts on, and for what is left in the bucket.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { freePort } from '../../testing/free-port.js';
import { s3Env, s3Server, TestBuckets } from '../../testing/s3-server.js';
import { isStoreError, type StoreError } from '../store-error.js';
import { openS3Backend, type S3Backend } from './index.js';

const FAKE_KEYS = { AWS_ACCESS_KEY_ID: 'AKIDTEST', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true' };
const opened: S3Backend[] = [];
const servers: Server[] = [];

function open(endpoint: string, env: NodeJS.ProcessEnv, bucket = 'prism-faults'): S3Backend {
  const b = openS3Backend({ kind: 's3', endpoint, bucket, prefix: 'repo' }, env);
  opened.push(b);
  return b;
}

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** A loopback HTTP server answering every request with `answer` (after reading the request body). */
function httpServer(answer: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => answer(req, res));
  });
  server.keepAliveTimeout = 100;
  return listen(server);
}

const s3Xml = (code: string, message: string): string =>
  `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;

function transientWithin(ms: number, ...words: RegExp[]) {
  const t0 = performance.now();
  return (e: unknown): boolean => {
    assert.ok(isStoreError(e, 'transient'), `expected a transient StoreError, got ${String(e)}`);
    for (const w of words) assert.match((e as StoreError).message, w);
    const took = performance.now() - t0;
    assert.ok(took < ms, `took ${took.toFixed(0)} ms, more than ${ms}`);
    return true;
  };
}

after(async () => {
  for (const b of opened) await b.close();
  for (const s of servers) {
    s.close();
    (s as Server & { closeAllConnections?(): void }).closeAllConnections?.();
  }
});

describe('s3 backend: the network and the store failing', () => {
  it('a closed port on loopback: transient, at once', async () => {
    const b = open(`http://127.0.0.1:${await freePort()}`, FAKE_KEYS);
    await assert.rejects(b.get('config.json'), transientWithin(2000, /ECONNREFUSED|no answer/));
    await assert.rejects(b.put('data/aa/aa01', randomBytes(1000)), transientWithin(2000));
    await assert.rejects(b.list('snapshots'), transientWithin(2000));
  });

  it('503 SlowDown, 500 with an HTML page and 429: transient', async () => {
    const slow = open(
      await httpServer((_req, res) => {
        res.writeHead(503, { 'content-type': 'application/xml' }).end(s3Xml('SlowDown', 'Please reduce your request rate.'));
      }),
      FAKE_KEYS,
    );
    await assert.rejects(slow.put('index/i1', Buffer.from('x')), transientWithin(2000, /SlowDown/));
    await assert.rejects(slow.get('index/i1'), transientWithin(2000, /SlowDown/));
    await assert.rejects(slow.putIfAbsent('locks/l.json', Buffer.from('x')), transientWithin(2000, /SlowDown/));
    const proxyPage = open(
      await httpServer((_req, res) => {
        res.writeHead(500, { 'content-type': 'text/html' }).end('<html><body>Bad gateway</body></html>');
      }),
      FAKE_KEYS,
    );
    await assert.rejects(proxyPage.list(''), transientWithin(2000, /HTTP 500/));
    const throttled = open(
      await httpServer((_req, res) => {
        res.writeHead(429).end();
      }),
      FAKE_KEYS,
    );
    await assert.rejects(throttled.exists('index/i1'), transientWithin(2000, /HTTP 429/));
  });

  it('a server that stalls before answering: transient after PRISM_STORE_STALL_SECONDS', async () => {
    const stall = createTcpServer((socket) => socket.resume()); // reads everything, answers nothing
    const b = open(await listen(stall), { ...FAKE_KEYS, PRISM_STORE_STALL_SECONDS: '1' });
    await assert.rejects(b.get('data/aa/aa01'), transientWithin(4000, /timed out/));
    await assert.rejects(b.put('data/aa/aa01', [randomBytes(4 << 20), randomBytes(1 << 20)]), transientWithin(4000, /timed out/));
  });

  it('a server that stops sending in the middle of a body: transient after PRISM_STORE_STALL_SECONDS', async () => {
    const b = open(
      await httpServer((_req, res) => {
        res.writeHead(200, { 'content-length': String(1 << 20) });
        res.write(randomBytes(1000)); // and nothing more
      }),
      { ...FAKE_KEYS, PRISM_STORE_STALL_SECONDS: '1' },
    );
    await assert.rejects(b.get('data/aa/aa01'), transientWithin(4000));
    await assert.rejects(b.get('data/aa/aa01', { into: { buffer: Buffer.alloc(10) } }), transientWithin(4000));
  });

  it('a body cut short (the connection closes before Content-Length): transient, never a short answer', async () => {
    const b = open(
      await httpServer((_req, res) => {
        res.writeHead(200, { 'content-length': '1000' });
        res.write(randomBytes(500), () => res.socket?.destroy());
      }),
      FAKE_KEYS,
    );
    await assert.rejects(b.get('data/aa/aa01'), transientWithin(2000));
    await assert.rejects(b.getRange('data/aa/aa01', 0, 1000), transientWithin(2000));
  });

  it('an aborted signal ends a stalled call at once with the signal’s reason', async () => {
    const stall = createTcpServer((socket) => socket.resume());
    const b = open(await listen(stall), { ...FAKE_KEYS, PRISM_STORE_STALL_SECONDS: '60' });
    const ac = new AbortController();
    const reason = new Error('stop: the operator pressed ^C');
    setTimeout(() => ac.abort(reason), 200);
    const t0 = performance.now();
    await assert.rejects(b.put('data/aa/aa01', randomBytes(1000), { signal: ac.signal }), (e) => e === reason);
    assert.ok(performance.now() - t0 < 2000);
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(reason), 200);
    await assert.rejects(b.get('data/aa/aa01', { signal: ac2.signal }), (e) => e === reason);
  });

  it('409 ConditionalRequestConflict on a conditional create: false when the object is there on a second look, transient when not', async () => {
    let present = true;
    const b = open(
      await httpServer((req, res) => {
        if (req.method === 'PUT')
          res.writeHead(409, { 'content-type': 'application/xml' }).end(s3Xml('ConditionalRequestConflict', 'A conflicting operation occurred.'));
        else if (req.method === 'HEAD') res.writeHead(present ? 200 : 404, { 'content-length': present ? '2' : '0' }).end();
        else res.writeHead(400).end();
      }),
      FAKE_KEYS,
    );
    assert.equal(await b.putIfAbsent('locks/backup.json', Buffer.from('{}')), false);
    present = false;
    await assert.rejects(b.putIfAbsent('locks/backup.json', Buffer.from('{}')), transientWithin(2000, /ConditionalRequestConflict/));
    assert.deepEqual(b.requestCounts(), { HeadObject: 2, PutObject: 2 });
  });

  describe('in front of Ceph RGW', () => {
    const rgw = s3Server();
    const buckets = new TestBuckets(rgw);
    after(() => buckets.cleanup());

    /** A TCP proxy to RGW that resets both sides once `cutAfter` bytes of a request went through. */
    async function resettingProxy(cutAfter: number): Promise<string> {
      const target = new URL(rgw.endpoint);
      const proxy = createTcpServer((client: Socket) => {
        const upstream = connect(Number(target.port), target.hostname);
        let sent = 0;
        client.on('data', (chunk: Buffer) => {
          sent += chunk.length;
          if (sent <= cutAfter) return void upstream.write(chunk);
          upstream.write(chunk.subarray(0, chunk.length - (sent - cutAfter)));
          upstream.resetAndDestroy();
          client.resetAndDestroy();
        });
        upstream.pipe(client);
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
      });
      return listen(proxy);
    }

    it('a connection reset in the middle of an upload: transient, and nothing of it in the bucket', async () => {
      const bucket = await buckets.create();
      const b = open(await resettingProxy(3 << 20), s3Env(rgw), bucket);
      const pack = Array.from({ length: 8 }, () => randomBytes(1 << 20));
      await assert.rejects(b.put('data/dd/dd01', pack), transientWithin(10_000, /ECONNRESET|EPIPE|no answer/));
      const w = b.openAtomic('data');
      for (const p of pack) w.write(p);
      await assert.rejects(w.commit('data/dd/dd02'), transientWithin(10_000));
      await w.abort();
      await new Promise((r) => setTimeout(r, 300)); // let RGW finish with the cut request
      assert.deepEqual(await buckets.keys(bucket), []);
      // the same backend, straight to RGW, then stores it whole (what a retry does)
      const direct = open(rgw.endpoint, s3Env(rgw), bucket);
      await direct.put('data/dd/dd01', pack);
      assert.deepEqual(await buckets.keys(bucket), [{ key: 'repo/data/dd/dd01', size: 8 << 20, storageClass: 'STANDARD' }]);
    });
  });
});
