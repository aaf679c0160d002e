/**
 * The Azure backend when the network or the server fails: refused connections, busy servers,
 * resets, stalls and damaged bodies are transient (for the RetryingBackend to retry; the SDK
 * retries nothing itself), and what Azurite keeps afterwards is nothing or the whole object.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { testServers } from '../../testing/test-servers.js';
import { azurite, azuriteService, freshContainer } from '../../testing/azurite.js';
import { startFaultProxy, type DirectionFaults, type FaultProxy } from '../../testing/fault-proxy.js';
import { freePort } from '../../testing/free-port.js';
import type { Backend } from '../backend.js';
import { parseLocation } from '../location.js';
import { isStoreError } from '../store-error.js';
import { openAzureBackend } from './index.js';

const server = azurite(testServers().azure);
const service = azuriteService(server);
const containers: string[] = [];
const MiB = 1024 * 1024;

/** A backend for a container through an endpoint on 127.0.0.1:port (a proxy, a fake server or nothing). */
function backendVia(port: number, container: string, stallSeconds = 60) {
  return openAzureBackend(parseLocation(`azure:${container}:/repo`), {
    AZURE_STORAGE_ACCOUNT: server.accountName,
    AZURE_STORAGE_KEY: server.accountKey,
    AZURE_STORAGE_ENDPOINT: `http://127.0.0.1:${port}/${server.accountName}`,
    PRISM_STORE_STALL_SECONDS: String(stallSeconds),
  });
}

async function container(): Promise<string> {
  const name = await freshContainer(service);
  containers.push(name);
  return name;
}

/** The blobs Azurite holds in a container (through the SDK, not the backend). */
async function stored(name: string): Promise<string[]> {
  const names: string[] = [];
  for await (const item of service.getContainerClient(name).listBlobsFlat()) names.push(item.name);
  return names;
}

async function rejectsTransient(call: Promise<unknown>, message: RegExp): Promise<void> {
  await assert.rejects(call, (e: unknown) => {
    assert.ok(isStoreError(e, 'transient'), `${String(e)} (cause: ${String((e as Error).cause)})`);
    assert.match(e.message, message);
    return true;
  });
}

/** A fault proxy in front of Azurite, closed after the test. */
const proxies: FaultProxy[] = [];
async function proxy(up: DirectionFaults = {}, down: DirectionFaults = {}): Promise<FaultProxy> {
  const p = await startFaultProxy({ host: server.host, port: server.port }, { up, down });
  proxies.push(p);
  return p;
}

describe('Azure backend: network and server failures', () => {
  const backends: Backend[] = [];
  const track = <B extends Backend>(b: B): B => (backends.push(b), b);
  after(async () => {
    for (const b of backends) await b.close?.();
    for (const p of proxies) await p.close();
    for (const c of containers) await service.deleteContainer(c).catch(() => undefined);
  });

  it('a closed port: transient (connection refused)', async () => {
    const b = track(backendVia(await freePort(), 'prism-closed'));
    await rejectsTransient(b.put('config.json', Buffer.from('{}')), /ECONNREFUSED/);
    await rejectsTransient(b.list(''), /ECONNREFUSED/);
  });

  it('503 ServerBusy, 500 OperationTimedOut, 500 InternalError, 429: transient, after exactly one request (no retries in the SDK)', async () => {
    let requests = 0;
    let answer: [number, string] = [503, 'ServerBusy'];
    const fake: Server = createHttpServer((req, res) => {
      requests++;
      req.resume();
      req.on('end', () => {
        const [status, code] = answer;
        res.writeHead(status, { 'content-type': 'application/xml', 'x-ms-error-code': code });
        res.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>Busy, try again.</Message></Error>`);
      });
    });
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    try {
      const b = track(backendVia((fake.address() as { port: number }).port, 'prism-busy'));
      for (const a of [
        [503, 'ServerBusy'],
        [500, 'OperationTimedOut'],
        [500, 'InternalError'],
        [429, 'TooManyRequests'],
      ] as [number, string][]) {
        answer = a;
        const calls: [string, () => Promise<unknown>][] = [
          ['put', () => b.put('data/00/0001', randomBytes(100_000))],
          ['putIfAbsent', () => b.putIfAbsent('locks/l', Buffer.from('x'))],
          ['get', () => b.get('data/00/0001')],
          ['size', () => b.size('data/00/0001')],
          ['list', () => b.list('data')],
          ['delete', () => b.delete('data/00/0001')],
        ];
        for (const [what, call] of calls) {
          requests = 0;
          await rejectsTransient(call(), new RegExp(`${a[0]}.*${a[1]}|${a[1]}`));
          assert.equal(requests, 1, `${what} on ${a.join(' ')}: one request`);
        }
      }
    } finally {
      await new Promise((r) => fake.close(r));
    }
  });

  it('a connection reset in the middle of an upload: transient, and nothing is stored', async () => {
    const name = await container();
    const p = await proxy({ resetAfter: 2 * MiB });
    const b = track(backendVia(p.port, name));
    await rejectsTransient(b.put('data/ab/abab', randomBytes(8 * MiB)), /ECONNRESET|EPIPE|socket hang up|connection/);
    await new Promise((r) => setTimeout(r, 300)); // Azurite has seen the connection go
    assert.deepEqual(await stored(name), []);
  });

  it('a body damaged on the way is refused by its MD5: transient, and nothing is stored', async () => {
    const name = await container();
    const p = await proxy({ flipAt: 300_000 });
    const b = track(backendVia(p.port, name));
    await rejectsTransient(b.put('data/cd/cdcd', randomBytes(MiB)), /arrived damaged/);
    assert.deepEqual(await stored(name), []);
  });

  it('a server that accepts and never answers: transient within PRISM_STORE_STALL_SECONDS', async () => {
    const held = new Set<Socket>();
    const silent = createTcpServer((s) => {
      held.add(s);
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const b = track(backendVia((silent.address() as { port: number }).port, 'prism-silent', 1));
      for (const call of [() => b.put('data/00/0001', randomBytes(MiB)), () => b.get('data/00/0001'), () => b.list(''), () => b.exists('x')]) {
        const started = performance.now();
        await rejectsTransient(call(), /no progress for 1 s \(PRISM_STORE_STALL_SECONDS\)/);
        const s = (performance.now() - started) / 1000;
        assert.ok(s >= 0.9 && s < 3, `failed after ${s.toFixed(2)} s`);
      }
      // the caller's own abort is the caller's, not a stall
      const ac = new AbortController();
      const reason = new Error('stopped by the caller');
      setTimeout(() => ac.abort(reason), 100);
      await assert.rejects(b.list('', { signal: ac.signal }), (e: unknown) => e === reason);
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('an upload that stops moving half way: transient within the stall time, and nothing is stored', async () => {
    const name = await container();
    const p = await proxy({ holdAfter: MiB });
    const b = track(backendVia(p.port, name, 1));
    const started = performance.now();
    await rejectsTransient(b.put('data/ef/efef', randomBytes(16 * MiB)), /no progress for 1 s/);
    assert.ok(performance.now() - started < 3000);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(await stored(name), []);
  });

  it('a download that stops moving half way: transient within the stall time', async () => {
    const name = await container();
    await service
      .getContainerClient(name)
      .getBlockBlobClient('repo/data/12/1212')
      .uploadData(randomBytes(4 * MiB));
    const p = await proxy({}, { holdAfter: 256 * 1024 });
    const b = track(backendVia(p.port, name, 1));
    const started = performance.now();
    await rejectsTransient(b.get('data/12/1212'), /no progress for 1 s/);
    assert.ok(performance.now() - started < 3000);
  });

  it('a slow transfer that keeps moving is not a stall: 32 MiB at 16 MiB/s each way with a stall time of 1 s', async () => {
    // progress on upload is what the socket takes; the kernel's buffers (several MiB on loopback)
    // hide the last of it, so the rate is high enough for them to drain within the stall time
    const name = await container();
    const p = await proxy({ bytesPerSecond: 16 * MiB }, { bytesPerSecond: 16 * MiB });
    const b = track(backendVia(p.port, name, 1));
    const data = randomBytes(32 * MiB);
    let started = performance.now();
    await b.put('data/34/3434', data);
    assert.ok(performance.now() - started > 1500, 'the upload took longer than the stall time');
    started = performance.now();
    assert.ok((await b.get('data/34/3434')).equals(data));
    assert.ok(performance.now() - started > 1500, 'the download took longer than the stall time');
  });
});
