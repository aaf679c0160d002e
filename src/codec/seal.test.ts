import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SEAL_OVERHEAD, SealError, open, openInto, seal, sealParts, sealedGeneration } from './seal.js';

describe('seal / open (AES-256-GCM)', () => {
  const key = randomBytes(32);

  it('opens what it sealed; the ciphertext does not contain the plaintext; nonces differ', () => {
    const plain = Buffer.from('marker-4f1c level-1-hot/secret.json '.repeat(20));
    const a = seal(key, plain, 'data/ab/abcd');
    const b = seal(key, plain, 'data/ab/abcd');
    assert.equal(a.length, plain.length + SEAL_OVERHEAD);
    assert.deepEqual(open(key, a, 'data/ab/abcd'), plain);
    assert.equal(a.includes(Buffer.from('marker-4f1c')), false);
    assert.notDeepEqual(a.subarray(5, 17), b.subarray(5, 17), 'a fresh nonce per object');
    assert.deepEqual(open(key, seal(key, Buffer.alloc(0), 'empty'), 'empty'), Buffer.alloc(0));
  });

  it('a flipped bit anywhere (scheme, nonce, ciphertext, tag) is refused', () => {
    const sealed = seal(key, Buffer.from('short object'), 'ctx');
    for (let i = 0; i < sealed.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const bad = Buffer.from(sealed);
        bad[i]! ^= bit;
        assert.throws(() => open(key, bad, 'ctx'), SealError, `byte ${i} bit ${bit}`);
      }
    }
  });

  it('another key, another context (an object moved) or a truncated object is refused', () => {
    const sealed = seal(key, Buffer.from('x'.repeat(100)), 'index/1');
    assert.throws(
      () => open(randomBytes(32), sealed, 'index/1'),
      (e: SealError) => e.reason === 'authentication',
    );
    assert.throws(
      () => open(key, sealed, 'index/2'),
      (e: SealError) => e.reason === 'authentication',
    );
    for (const n of [0, 1, SEAL_OVERHEAD - 1, SEAL_OVERHEAD, sealed.length - 1]) {
      assert.throws(() => open(key, sealed.subarray(0, n), 'index/1'), SealError, `${n} bytes`);
    }
    assert.throws(() => seal(Buffer.alloc(16), Buffer.alloc(1), 'x'), RangeError);
  });

  it('the key generation is stored and authenticated', () => {
    const sealed = seal(key, Buffer.from('generation 7'), 'ctx', 7);
    assert.equal(sealedGeneration(sealed), 7);
    assert.deepEqual(open(key, sealed, 'ctx'), Buffer.from('generation 7'));
    const relabelled = Buffer.from(sealed);
    relabelled.writeUInt32LE(8, 1);
    assert.throws(
      () => open(key, relabelled, 'ctx'),
      (e: SealError) => e.reason === 'authentication',
    );
  });

  it('sealParts gives the same envelope in pieces (for frames written as they are)', () => {
    const plain = randomBytes(1 << 20);
    const parts = sealParts(key, plain, 'frame', 3);
    assert.ok(parts.length >= 3);
    const whole = Buffer.concat(parts);
    assert.equal(whole.length, plain.length + SEAL_OVERHEAD);
    assert.equal(sealedGeneration(whole), 3);
    assert.deepEqual(open(key, whole, 'frame'), plain);
  });

  it('openInto writes every byte value exactly, across piece boundaries, and refuses a damaged object', () => {
    const every = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    for (const size of [0, 1, 255, 64 * 1024 - 1, 64 * 1024, 64 * 1024 + 1, 3 * 64 * 1024 + 77, (1 << 20) + 13]) {
      const plain = Buffer.alloc(size);
      for (let at = 0; at < size; at += 256) every.copy(plain, at, 0, Math.min(256, size - at));
      randomBytes(Math.min(size, 4096)).copy(plain, size >> 1);
      const out = Buffer.alloc(size + 100, 0xaa);
      assert.equal(openInto(key, seal(key, plain, 'f'), 'f', out), size, `${size} bytes`);
      assert.deepEqual(out.subarray(0, size), plain, `${size} bytes`);
      assert.ok(
        out.subarray(size).every((b) => b === 0xaa),
        'nothing written past the plaintext',
      );
    }
    const sealed = seal(key, randomBytes(100_000), 'f');
    sealed[sealed.length >> 1]! ^= 1;
    assert.throws(
      () => openInto(key, sealed, 'f', Buffer.alloc(100_000)),
      (e: SealError) => e.reason === 'authentication',
    );
  });
});
