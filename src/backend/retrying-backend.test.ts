import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FixedClock } from '../core/clock.js';
import { isPrismError } from '../errors/index.js';
import { backendConformance } from '../testing/backend-conformance.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { MemoryBackend } from './memory-backend.js';
import { RetryingBackend, type RetryEvent } from './retrying-backend.js';
import { ObjectNotFoundError } from './store-error.js';

const clock = (): FixedClock => new FixedClock(new Date('2026-12-07T12:00:00Z'));

backendConformance('retrying, over a store that never fails', { make: async () => new RetryingBackend(new MemoryBackend(), clock()) });

backendConformance('retrying, over a store that fails every third call and loses the answer of every seventh', {
  make: async () =>
    new RetryingBackend(
      new FaultyBackend(new MemoryBackend(), [
        { op: '*', every: 3, times: Infinity, fault: { kind: 'transient' } },
        { op: '*', every: 7, times: Infinity, fault: { kind: 'lost-answer' } },
      ]),
      clock(),
    ),
});

describe('RetryingBackend', () => {
  it('a store that answers 503 for a minute, then recovers: the call succeeds after backed-off retries', async () => {
    const c = clock();
    const start = c.now().getTime();
    const faulty = new FaultyBackend(new MemoryBackend());
    const events: RetryEvent[] = [];
    const b = new RetryingBackend(faulty, c, { maxElapsedMs: 5 * 60_000, baseDelayMs: 500, maxDelayMs: 30_000 }, (e) => events.push(e));
    // fails while the clock is within the first minute
    const failing = (): boolean => c.now().getTime() - start < 60_000;
    faulty.failWhile(failing);
    await b.put('data/ab/ab01', Buffer.from('pack'));
    assert.deepEqual(await b.get('data/ab/ab01'), Buffer.from('pack'));
    assert.ok(events.length >= 3, `retried ${events.length} times`);
    assert.ok(c.now().getTime() - start >= 60_000);
    // the waits grow (full jitter: the ceiling doubles) and never exceed the cap
    assert.ok(events.every((e) => e.delayMs <= 30_000));
    assert.equal(events[0]!.operation, 'put');
  });

  it('gives up with STORE_UNAVAILABLE naming the store, the attempts and the last error', async () => {
    const c = clock();
    const faulty = new FaultyBackend(new MemoryBackend('s3:http://127.0.0.1:9/bucket'), [{ op: 'get', times: Infinity, fault: { kind: 'transient' } }]);
    const b = new RetryingBackend(faulty, c, { maxElapsedMs: 120_000, baseDelayMs: 1000, maxDelayMs: 10_000 });
    await assert.rejects(b.get('config.json'), (e: unknown) => {
      assert.ok(isPrismError(e) && e.code === 'STORE_UNAVAILABLE', String(e));
      assert.match(e.message, /s3:http:\/\/127\.0\.0\.1:9\/bucket/);
      assert.match(e.message, /injected transient fault on get config\.json/);
      assert.ok((e.details.attempts as number) > 3);
      return true;
    });
    assert.ok(c.now().getTime() - new Date('2026-12-07T12:00:00Z').getTime() >= 120_000, 'kept trying for the whole time');
  });

  it('a permanent error is STORE_REFUSED at once, without retries', async () => {
    const faulty = new FaultyBackend(new MemoryBackend(), [{ op: 'list', fault: { kind: 'permanent' } }]);
    const b = new RetryingBackend(faulty, clock());
    await assert.rejects(b.list('index'), (e: unknown) => isPrismError(e) && e.code === 'STORE_REFUSED');
    assert.equal(faulty.calls.length, 1);
  });

  it('a missing object is not retried and stays ObjectNotFoundError', async () => {
    const faulty = new FaultyBackend(new MemoryBackend());
    const b = new RetryingBackend(faulty, clock());
    await assert.rejects(b.get('snapshots/x.json'), ObjectNotFoundError);
    assert.equal(faulty.calls.length, 1);
  });

  it('a conditional create whose answer was lost is ours on the next try; one made by another writer is not', async () => {
    const mem = new MemoryBackend();
    const faulty = new FaultyBackend(mem, [{ op: 'putIfAbsent', name: /mine/, fault: { kind: 'lost-answer' } }]);
    const b = new RetryingBackend(faulty, clock());
    assert.equal(await b.putIfAbsent('locks/mine.json', Buffer.from('me')), true);
    await mem.put('locks/theirs.json', Buffer.from('them'));
    faulty.add({ op: 'putIfAbsent', name: /theirs/, fault: { kind: 'transient' } });
    assert.equal(await b.putIfAbsent('locks/theirs.json', Buffer.from('me')), false);
    assert.deepEqual(await mem.get('locks/theirs.json'), Buffer.from('them'));
  });

  it('an atomic write whose upload failed is sent again whole', async () => {
    const mem = new MemoryBackend();
    const faulty = new FaultyBackend(mem, [{ op: 'put', name: /^data\//, times: 2, fault: { kind: 'transient' } }]);
    const b = new RetryingBackend(faulty, clock());
    const w = b.openAtomic('data');
    const buf = Buffer.alloc(1000, 1);
    w.write(buf);
    buf.fill(2);
    w.write(buf);
    await w.commit('data/cd/cd01');
    assert.deepEqual(await mem.get('data/cd/cd01'), Buffer.concat([Buffer.alloc(1000, 1), Buffer.alloc(1000, 2)]));
    assert.equal(faulty.calls.filter((c) => c.startsWith('put data/cd/cd01')).length, 3);
  });

  it('an aborted signal stops the retries', async () => {
    const faulty = new FaultyBackend(new MemoryBackend(), [{ op: 'get', times: Infinity, fault: { kind: 'transient' } }]);
    const ac = new AbortController();
    let tries = 0;
    const b = new RetryingBackend(faulty, clock(), undefined, () => {
      if (++tries === 3) ac.abort(new Error('stopped by the operator'));
    });
    await assert.rejects(b.get('config.json', { signal: ac.signal }), /stopped by the operator/);
    assert.equal(faulty.calls.length, 3);
  });
});
