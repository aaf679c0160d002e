import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FrameCompressor } from '../../codec/compress.js';
import { objectKey } from '../../codec/master-key.js';
import { open } from '../../codec/seal.js';
import { FixedClock } from '../../core/clock.js';
import { isPrismError } from '../../errors/index.js';
import { Repository } from '../../repo/index.js';
import { rotateMasterKey } from '../../repo/key-rotation.js';
import { writeKeyFile } from '../../repo/keyring.js';
import { decodeTrailer, trailerRange } from '../../repo/pack-format.js';
import { backendOf } from '../../repo/repository.js';
import { FAST_KDF, TEST_PASSWORD, encryptedContext, initEncrypted, passwordOf } from '../../testing/encrypted.js';
import { FailingBackend, Killed } from '../../testing/failing-backend.js';
import { hashTree, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { createBackup } from '../backups/create-backup.js';
import { openRepository } from '../context.js';
import { verifyBackups } from '../integrity/verify-backups.js';
import { restoreBackup } from '../restore/restore-backup.js';
import { rotateKey } from './rotate-key.js';
import { filesUnder } from '../../testing/leak-scan.js';

const COMPRESSOR = new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 3 });

/** The generation in the seal header of a stored object (a pack's: of its first frame). */
function generationOf(repoDir: string, file: string): number {
  const bytes = readFileSync(file);
  const at = relative(repoDir, file).startsWith('data/') ? 8 : 0;
  return bytes.readUInt32LE(at + 1);
}

describe('prism key rotate', () => {
  let sb: Sandbox;
  beforeEach(async () => {
    sb = sandbox();
    writeDataset(sb.home, { files: 30 });
    await initEncrypted(sb);
    await createBackup(encryptedContext(sb), { type: 'full' });
  });
  afterEach(() => sb.cleanup());

  async function assertRestores(): Promise<void> {
    const ctx = encryptedContext(sb);
    const v = await verifyBackups(ctx, { all: true, data: { kind: 'all' } });
    assert.equal(v.ok, true, JSON.stringify(v));
    const target = join(sb.root, `restored-${Math.random().toString(36).slice(2)}`);
    const latest = v.backups.at(-1)!.id;
    await restoreBackup(ctx, { id: latest, target });
    assert.deepEqual(hashTree(target), hashTree(sb.home));
    rmSync(target, { recursive: true, force: true });
  }

  it('seals metadata with a new master key at once, data packs when asked; the old master key then opens nothing', async () => {
    const ctx = encryptedContext(sb);
    const before = await openRepository(ctx);
    const oldMaster = Buffer.from(before.unlocked!.master);
    // a second password, whose key file the rotation retires
    await writeKeyFile(backendOf(before), before.config, before.unlocked!, Buffer.from('second password'), FAST_KDF, new Date());

    const r = await rotateKey(ctx, { rewriteData: false });
    assert.equal(r.generation, 2);
    assert.equal(r.started, true);
    assert.ok(r.metadata_resealed > 0);
    assert.ok(r.packs_left > 0, 'data packs keep their key until rewritten');
    assert.deepEqual(r.older_generations, [1]);
    assert.equal(r.retired_keys.length, 1);
    for (const f of filesUnder(sb.repo)) {
      const rel = relative(sb.repo, f);
      if (/^(index|snapshots)\//.test(rel)) assert.equal(generationOf(sb.repo, f), 2, rel);
    }
    await assert.rejects(openRepository(encryptedContext(sb, 'second password')), (e) => isPrismError(e) && e.code === 'KEY_REFUSED');
    await assertRestores();
    // what is written from now on is sealed with the new key
    writeFileSync(join(sb.home, 'level-1-hot', 'after-rotate.txt'), 'new data '.repeat(1000));
    await createBackup(ctx, { type: 'incremental' });

    const done = await rotateKey(ctx, { rewriteData: true });
    assert.equal(done.generation, 3);
    assert.equal(done.packs_left, 0);
    assert.deepEqual(done.older_generations, []);
    for (const f of filesUnder(sb.repo)) {
      const rel = relative(sb.repo, f);
      if (/^(index|snapshots|data)\//.test(rel)) assert.equal(generationOf(sb.repo, f), 3, rel);
    }
    await assertRestores();

    // nothing in the repository authenticates under the first master key: no object, no frame, no trailer
    const k1 = objectKey(oldMaster);
    const now = await openRepository(ctx);
    let frames = 0;
    for (const f of filesUnder(sb.repo)) {
      const rel = relative(sb.repo, f);
      if (rel.startsWith('keys/') || rel === 'config.json') continue;
      const bytes = readFileSync(f);
      if (!rel.startsWith('data/')) {
        assert.throws(() => open(k1, bytes, rel), Error, `${rel} opens with the old key`);
        continue;
      }
      const { start, end } = trailerRange(bytes);
      assert.throws(() => open(k1, bytes.subarray(start, end), 'trailer'), Error, `the trailer of ${rel} opens with the old key`);
      for (const fr of decodeTrailer(bytes, now.crypt).frames) {
        frames++;
        open(objectKey(now.unlocked!.master), bytes.subarray(fr.o, fr.o + fr.l), 'frame'); // the current key does open it
        assert.throws(() => open(k1, bytes.subarray(fr.o, fr.o + fr.l), 'frame'), Error, `a frame of ${rel} opens with the old key`);
      }
    }
    assert.ok(frames > 0);
  });

  it('killed after any change, the repository opens with the same password and a second run finishes the rotation', async () => {
    const base = join(sb.root, 'base-repo');
    cpSync(sb.repo, base, { recursive: true });
    const clock = new FixedClock(new Date('2026-02-08T00:00:00Z'));
    let completed = false;
    for (let changes = 0; !completed; changes++) {
      rmSync(sb.repo, { recursive: true, force: true });
      cpSync(base, sb.repo, { recursive: true });
      const failing = new FailingBackend(sb.repo, changes);
      const repo = await Repository.open(failing, clock, { password: passwordOf(TEST_PASSWORD) });
      try {
        await rotateMasterKey(repo, { password: Buffer.from(TEST_PASSWORD), params: FAST_KDF, clock, rewriteData: true, compressor: COMPRESSOR });
        completed = true;
      } catch (e) {
        if (!(e instanceof Killed)) throw e;
      }
      // whatever was done, the password opens the repository and every backup restores
      await assertRestores();
      const again = await rotateKey(encryptedContext(sb), { rewriteData: true });
      assert.equal(again.packs_left, 0, `after ${changes} change(s)`);
      assert.deepEqual(again.older_generations, []);
      await assertRestores();
      assert.ok(changes < 200, 'the rotation makes a bounded number of changes');
      if (completed) assert.ok(changes > 5, `${changes} changes: every step was interrupted once`);
    }
  });

  it('an unencrypted repository has no key to rotate', async () => {
    const plain = sandbox();
    try {
      writeDataset(plain.home, { files: 2 });
      const { appContext } = await import('../../testing/fixtures.js');
      await createBackup(appContext(plain), { type: 'full' });
      await assert.rejects(
        rotateKey({ ...appContext(plain), password: passwordOf('x') }, { rewriteData: false }),
        (e) => isPrismError(e) && e.code === 'KEY_REFUSED',
      );
    } finally {
      plain.cleanup();
    }
  });
});
