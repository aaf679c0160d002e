import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LocalBackend } from '../backend/index.js';
import { newMasterKey } from '../codec/master-key.js';
import { FixedClock } from '../core/clock.js';
import { isPrismError, type ErrorCode } from '../errors/index.js';
import { FAST_KDF, passwordOf } from '../testing/encrypted.js';
import { FailingBackend, Killed } from '../testing/failing-backend.js';
import { createKeys, readKeyFiles, writeKeyFile, writeKeyring } from './keyring.js';
import { keyFileName } from './layout.js';
import { Repository, type KeyCache } from './repository.js';

const clock = new FixedClock(new Date('2026-12-07T10:00:00Z'));
const code = (c: ErrorCode) => (e: unknown) => isPrismError(e) && e.code === c;

describe('keyring and key files', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'prism-keyring-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const open = (password: string, keyHint?: string) => Repository.open(new LocalBackend(dir), clock, { password: passwordOf(password), keyHint });
  const create = (password = 'first') =>
    Repository.open(new LocalBackend(dir), clock, { create: true, encrypt: { password: passwordOf(password), params: FAST_KDF } });

  it('opens with any of its passwords (the hinted key file, or a prefix of its id, tried first), not with another', async () => {
    const repo = await create();
    const backend = new LocalBackend(dir);
    const second = await writeKeyFile(backend, repo.config, repo.unlocked!, Buffer.from('second'), FAST_KDF, clock.now());
    for (const [pw, hint] of [
      ['first', undefined],
      ['second', undefined],
      ['second', second.slice(0, 4)],
      ['first', second], // a hint that does not open falls back to the others
    ] as const) {
      const r = await open(pw, hint);
      assert.equal(r.unlocked!.generation, 1);
      assert.equal(r.chunkerSeed, repo.chunkerSeed);
      assert.equal(r.crypt.blobIdHex(Buffer.from('x')), repo.crypt.blobIdHex(Buffer.from('x')));
    }
    await assert.rejects(open('third'), code('WRONG_PASSWORD'));
    await assert.rejects(Repository.open(new LocalBackend(dir), clock), code('PASSWORD_MISSING'));
  });

  it('opened again with a key cache, no password is read; a kept key of another generation, or one that does not open the keyring, is not used', async () => {
    const repo = await create();
    const cache: KeyCache = new Map();
    const reads: string[] = [];
    const counted = (pw: string) => ({ origin: 'the test', read: async () => (reads.push(pw), Buffer.from(pw)) });
    await Repository.open(new LocalBackend(dir), clock, { password: counted('first'), keyCache: cache });
    assert.equal(cache.size, 1);
    const again = await Repository.open(new LocalBackend(dir), clock, { password: counted('wrong'), keyCache: cache });
    assert.deepEqual(reads, ['first'], 'the second open read no password');
    assert.deepEqual(again.unlocked!.master, repo.unlocked!.master);
    const [key, kept] = [...cache][0]!;
    cache.set(key, { ...kept, generation: kept.generation + 1 });
    await assert.rejects(Repository.open(new LocalBackend(dir), clock, { password: counted('wrong'), keyCache: cache }), code('WRONG_PASSWORD'));
    const damaged = Buffer.from(kept.master);
    damaged[0]! ^= 1;
    cache.set(key, { ...kept, master: damaged });
    await assert.rejects(Repository.open(new LocalBackend(dir), clock, { password: counted('wrong'), keyCache: cache }), code('WRONG_PASSWORD'));
    assert.equal(cache.size, 0, 'a kept key that does not open the keyring is forgotten');
    await Repository.open(new LocalBackend(dir), clock, { password: counted('first'), keyCache: cache });
    assert.deepEqual(cache.get(key)!.master, repo.unlocked!.master);
  });

  it('a key file copied from another repository does not open this one', async () => {
    await create('mine');
    const other = mkdtempSync(join(tmpdir(), 'prism-keyring-other-'));
    try {
      await Repository.open(new LocalBackend(other), clock, { create: true, encrypt: { password: passwordOf('theirs'), params: FAST_KDF } });
      const [theirs] = await readKeyFiles(new LocalBackend(other));
      writeFileSync(join(dir, keyFileName(theirs!.id)), readFileSync(join(other, keyFileName(theirs!.id))));
      await assert.rejects(open('theirs'), code('WRONG_PASSWORD'));
      assert.ok(await open('mine'));
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('crafted key files are refused before scrypt runs; a good one beside them still opens', async () => {
    await create('good');
    const [good] = await readKeyFiles(new LocalBackend(dir));
    const body = JSON.parse(readFileSync(join(dir, keyFileName(good!.id)), 'utf8')) as Record<string, unknown>;
    const crafted: Record<string, unknown>[] = [
      { ...body, N: 2 ** 30 },
      { ...body, r: 1_000_000 },
      { ...body, p: 2 ** 31 },
      { ...body, N: 2 ** 20, r: 32 },
      { ...body, kdf: 'argon2id' },
      { ...body, version: 9 },
      { ...body, generation: -1 },
      { ...body, data: 'not base64!' },
    ];
    crafted.forEach((c, i) => writeFileSync(join(dir, keyFileName(`bad${String(i).padStart(13, '0')}`)), JSON.stringify(c)));
    writeFileSync(join(dir, keyFileName('ffff000000000000')), JSON.stringify(body).slice(0, 40));
    const listed = await readKeyFiles(new LocalBackend(dir));
    assert.equal(listed.filter((f) => f.error).length, crafted.length + 1);
    assert.ok(await open('good'));
    rmSync(join(dir, keyFileName(good!.id)));
    await assert.rejects(open('good'), code('KEY_FILE_INVALID'));
  });

  it('a key file of a generation with no keyring is ignored; one of a retired generation is refused as such', async () => {
    const repo = await create('pw');
    const backend = new LocalBackend(dir);
    // an unfinished rotation: a key file of generation 2, no keyring 2
    const orphan = { ...repo.unlocked!, generation: 2, master: newMasterKey() };
    await writeKeyFile(backend, repo.config, orphan, Buffer.from('pw'), FAST_KDF, clock.now());
    assert.equal((await open('pw')).unlocked!.generation, 1);
    // a finished one: keyring 2 exists, the generation-1 key files are retired
    const next = { ...orphan, master: newMasterKey(), older: { 1: repo.unlocked!.master.toString('hex') } };
    await writeKeyring(backend, repo.config, next, 'create');
    await assert.rejects(open('pw'), code('KEY_REFUSED'));
    await writeKeyFile(backend, repo.config, next, Buffer.from('pw'), FAST_KDF, clock.now());
    assert.equal((await open('pw')).unlocked!.generation, 2);
  });

  it('a keyring cannot be created twice', async () => {
    const repo = await create();
    await assert.rejects(createKeys(new LocalBackend(dir), repo.config, Buffer.from('x'), FAST_KDF, clock.now()), code('REPO_CORRUPT'));
  });

  it('whileDeriving runs once, before the key is derived, and only when a password is derived', async () => {
    const repo = await create('pw');
    const calls: string[] = [];
    const opened = Repository.open(new LocalBackend(dir), clock, { password: passwordOf('pw'), whileDeriving: () => void calls.push('walk') }).then((r) => {
      calls.push('opened');
      return r;
    });
    assert.equal(calls.length, 0, 'nothing runs before the open reaches the derivation');
    await opened;
    assert.equal(calls.join(), 'walk,opened');
    const plain = mkdtempSync(join(tmpdir(), 'prism-keyring-plain-'));
    try {
      await Repository.open(new LocalBackend(plain), clock, { create: true });
      await Repository.open(new LocalBackend(plain), clock, { whileDeriving: () => void calls.push('plain') });
      await Repository.open(new LocalBackend(dir), clock, { unlocked: repo.unlocked!, whileDeriving: () => void calls.push('unlocked') });
      assert.equal(calls.join(), 'walk,opened', 'no derivation, no call');
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it('a creation killed before its first key says to create it again; lost keys of a used repository, to restore them', async () => {
    const killed = new FailingBackend(dir, 1); // config.json is written, the keyring is not
    await assert.rejects(
      Repository.open(killed, clock, { create: true, encrypt: { password: passwordOf('pw'), params: FAST_KDF } }),
      (e) => e instanceof Killed,
    );
    await assert.rejects(
      open('pw'),
      (e) => isPrismError(e) && e.code === 'REPO_CORRUPT' && /no backups: its creation did not finish\. Delete the directory/.test(e.message),
    );
    rmSync(dir, { recursive: true, force: true });
    await create('pw');
    await new LocalBackend(dir).put('snapshots/backup_x.json', Buffer.from('{}')); // a backup's manifest (only its name counts here)
    rmSync(join(dir, 'keys'), { recursive: true });
    await assert.rejects(open('pw'), (e) => isPrismError(e) && e.code === 'REPO_CORRUPT' && /Restore them from a copy/.test(e.message));
  });
});
