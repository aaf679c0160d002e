import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  KeyFileError,
  MASTER_KEY_BYTES,
  SCRYPT_BOUNDS,
  WrongPasswordError,
  calibrateScrypt,
  checkScryptParams,
  contentKeys,
  memoryOf,
  newMasterKey,
  objectKey,
  unwrapMasterKey,
  wrapMasterKey,
} from './master-key.js';

const FAST = { N: 2 ** 14, r: 8, p: 1 };

describe('master key and key files', () => {
  it('a key file opens with its password and repository only', async () => {
    const master = newMasterKey();
    const kf = await wrapMasterKey(master, 'correct horse', 'repo-a', FAST);
    const round = JSON.parse(JSON.stringify(kf)) as unknown;
    assert.deepEqual(await unwrapMasterKey(round, 'correct horse', 'repo-a'), master);
    await assert.rejects(unwrapMasterKey(round, 'wrong horse', 'repo-a'), WrongPasswordError);
    // swapped in from another repository
    await assert.rejects(unwrapMasterKey(round, 'correct horse', 'repo-b'), WrongPasswordError);
    assert.equal(JSON.stringify(kf).includes(master.toString('base64')), false);
  });

  it('a flipped byte in the sealed key is not taken for a right password', async () => {
    const kf = await wrapMasterKey(newMasterKey(), 'pw', 'repo', FAST);
    const data = Buffer.from(kf.data, 'base64');
    data[5]! ^= 0x10;
    await assert.rejects(unwrapMasterKey({ ...kf, data: data.toString('base64') }, 'pw', 'repo'), WrongPasswordError);
  });

  it('crafted key files are refused before scrypt allocates anything', async () => {
    const kf = await wrapMasterKey(newMasterKey(), 'pw', 'repo', FAST);
    const cases: Array<[string, unknown]> = [
      ['not an object', 'x'],
      ['unknown version', { ...kf, version: 2 }],
      ['unknown kdf', { ...kf, kdf: 'argon2id' }],
      ['memory bomb N', { ...kf, N: 2 ** 30 }],
      ['memory bomb r', { ...kf, r: 1_000_000 }],
      ['N not a power of two', { ...kf, N: 20_000 }],
      ['N too small', { ...kf, N: 2 }],
      ['p huge', { ...kf, p: 2 ** 31 }],
      ['fractional', { ...kf, r: 8.5 }],
      ['N and r within bounds alone, too much memory together', { ...kf, N: SCRYPT_BOUNDS.maxN, r: 32 }],
      ['salt not base64', { ...kf, salt: '!!!' }],
      ['truncated data', { ...kf, data: kf.data.slice(0, 20) }],
      ['no data', { ...kf, data: undefined }],
    ];
    for (const [what, body] of cases) await assert.rejects(unwrapMasterKey(body, 'pw', 'repo'), KeyFileError, what);
  });

  it('bounds: what passes the check stays within 256 MiB', () => {
    assert.deepEqual(checkScryptParams({ N: 2 ** 17, r: 8, p: 1 }), { N: 2 ** 17, r: 8, p: 1 });
    assert.ok(memoryOf(checkScryptParams({ N: SCRYPT_BOUNDS.maxN, r: 1, p: 1 })) <= SCRYPT_BOUNDS.maxMemoryBytes);
    assert.throws(() => checkScryptParams({ N: SCRYPT_BOUNDS.maxN, r: 2, p: 1 }), KeyFileError);
  });

  it('subkeys are fixed by the master key and independent of each other', () => {
    const master = newMasterKey();
    const a = { objects: objectKey(master), ...contentKeys(master) };
    assert.deepEqual(objectKey(Buffer.from(master)), a.objects);
    assert.deepEqual(contentKeys(Buffer.from(master)), { idKey: a.idKey, chunkerSeed: a.chunkerSeed });
    assert.notDeepEqual(a.idKey, a.objects);
    assert.notDeepEqual(a.chunkerSeed, a.idKey);
    assert.notDeepEqual(objectKey(newMasterKey()), a.objects);
    assert.throws(() => objectKey(Buffer.alloc(MASTER_KEY_BYTES - 1)), RangeError);
  });

  it('calibration stays within the bounds and the memory target', async () => {
    const p = await calibrateScrypt({ ms: 50, memoryBytes: 32 * 1024 * 1024 });
    assert.deepEqual(checkScryptParams(p), p);
    assert.ok(memoryOf(p) <= 32 * 1024 * 1024 + 128 * 8);
  });
});
