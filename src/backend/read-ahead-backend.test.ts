import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { backendConformance } from '../testing/backend-conformance.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { MemoryBackend } from './memory-backend.js';
import { ReadAheadBackend } from './read-ahead-backend.js';
import { ObjectNotFoundError } from './store-error.js';

backendConformance('read-ahead over memory', { make: async () => new ReadAheadBackend(new MemoryBackend(), 64 * 1024) });

describe('ReadAheadBackend', () => {
  it('serves the frames after the first from one window: one read and one listing for a pack read in order', async () => {
    const mem = new MemoryBackend();
    const pack = randomBytes(3 * 1024 * 1024);
    await mem.put('data/ab/ab01', pack);
    const counted = new FaultyBackend(mem);
    const b = new ReadAheadBackend(counted, 4 * 1024 * 1024);
    const into = { buffer: Buffer.alloc(0) };
    for (let off = 8; off + 100_000 <= pack.length; off += 100_000) {
      const got = await b.getRange('data/ab/ab01', off, 100_000, off % 200_000 === 8 ? { into } : undefined);
      assert.ok(got.equals(pack.subarray(off, off + 100_000)), `frame at ${off}`);
    }
    assert.deepEqual(counted.calls, ['list data', 'getRange data/ab/ab01']);
    assert.equal(b.served, 30);
  });

  it('a pack larger than the window takes a window per part; metadata and large reads go straight through', async () => {
    const mem = new MemoryBackend();
    const pack = randomBytes(1024 * 1024);
    await mem.put('data/cd/cd01', pack);
    await mem.put('index/i1', Buffer.from('index'));
    const counted = new FaultyBackend(mem);
    const b = new ReadAheadBackend(counted, 256 * 1024);
    for (let off = 0; off + 64 * 1024 <= pack.length; off += 64 * 1024)
      assert.ok((await b.getRange('data/cd/cd01', off, 64 * 1024)).equals(pack.subarray(off, off + 64 * 1024)));
    assert.equal(counted.calls.filter((c) => c.startsWith('getRange')).length, 4);
    assert.ok((await b.getRange('data/cd/cd01', 0, 512 * 1024)).equals(pack.subarray(0, 512 * 1024)));
    assert.deepEqual(await b.getRange('index/i1', 0, 5), Buffer.from('index'));
    assert.deepEqual(counted.calls.slice(-2), ['getRange data/cd/cd01', 'getRange index/i1']);
  });

  it('reads alternating between two packs (files of two chunk workers) fetch each window once', async () => {
    const mem = new MemoryBackend();
    const a = randomBytes(1024 * 1024);
    const b2 = randomBytes(1024 * 1024);
    await mem.put('data/aa/aa01', a);
    await mem.put('data/bb/bb01', b2);
    const counted = new FaultyBackend(mem);
    const b = new ReadAheadBackend(counted, 2 * 1024 * 1024);
    for (let off = 0; off + 64 * 1024 <= a.length; off += 64 * 1024) {
      assert.ok((await b.getRange('data/aa/aa01', off, 64 * 1024)).equals(a.subarray(off, off + 64 * 1024)));
      assert.ok((await b.getRange('data/bb/bb01', off, 64 * 1024)).equals(b2.subarray(off, off + 64 * 1024)));
    }
    assert.deepEqual(counted.calls, ['list data', 'getRange data/aa/aa01', 'getRange data/bb/bb01']);
  });

  it('a missing pack is ObjectNotFoundError, listed for once, not on every read', async () => {
    const counted = new FaultyBackend(new MemoryBackend());
    const b = new ReadAheadBackend(counted, 256 * 1024);
    for (let i = 0; i < 3; i++) await assert.rejects(b.getRange('data/ef/ef01', 0, 10), ObjectNotFoundError);
    assert.equal(counted.calls.filter((c) => c === 'list data').length, 1);
  });

  it('a pack written after the listing is found by listing again', async () => {
    const mem = new MemoryBackend();
    await mem.put('data/00/0001', randomBytes(1000));
    const b = new ReadAheadBackend(mem, 256 * 1024);
    await b.getRange('data/00/0001', 0, 10);
    const later = randomBytes(2000);
    await mem.put('data/00/0002', later);
    assert.ok((await b.getRange('data/00/0002', 100, 50)).equals(later.subarray(100, 150)));
  });
});
