import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryBackend } from '../backend/memory-backend.js';
import { FixedClock } from '../core/clock.js';
import { FAST_KDF, passwordOf } from '../testing/encrypted.js';
import { FaultyBackend } from '../testing/faulty-backend.js';
import { Repository } from './repository.js';

const clock = new FixedClock(new Date('2026-12-08T04:00:00Z'));

describe('Repository.open with the config another thread opened (a worker)', () => {
  it('reads nothing from the store, plain or encrypted, and reads and writes as the original does', async () => {
    for (const encrypted of [false, true]) {
      const mem = new MemoryBackend();
      const first = await Repository.open(mem, clock, {
        create: true,
        ...(encrypted ? { encrypt: { password: passwordOf('pw'), params: FAST_KDF } } : {}),
      });
      const counted = new FaultyBackend(mem);
      const worker = await Repository.open(counted, clock, { opened: first.config, ...(first.unlocked ? { unlocked: first.unlocked } : {}) });
      assert.deepEqual(counted.calls, [], encrypted ? 'encrypted' : 'plain');
      assert.equal(worker.crypt.encrypted, encrypted);
      assert.equal(worker.crypt.blobIdHex(Buffer.from('same id')), first.crypt.blobIdHex(Buffer.from('same id')));
    }
  });

  it('an encrypted config handed over without its keys is refused', async () => {
    const mem = new MemoryBackend();
    const first = await Repository.open(mem, clock, { create: true, encrypt: { password: passwordOf('pw'), params: FAST_KDF } });
    await assert.rejects(Repository.open(mem, clock, { opened: first.config }), /without its keys/);
  });
});
