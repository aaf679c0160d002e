import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { isPrismError } from '../../errors/index.js';
import { encryptedContext, initEncrypted, passwordOf } from '../../testing/encrypted.js';
import { appContext, hashTree, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { createBackup } from '../backups/create-backup.js';
import { openRepository } from '../context.js';
import { restoreBackup } from '../restore/restore-backup.js';
import { addKey } from './add-key.js';
import { changePassword } from './change-password.js';
import { exportKey } from './export-key.js';
import { importKey } from './import-key.js';
import { initEncryptedRepository } from './init-encrypted.js';
import { listKeys } from './list-keys.js';
import { removeKey } from './remove-key.js';
import { filesUnder } from '../../testing/leak-scan.js';

const code = (c: string) => (e: unknown) => isPrismError(e) && e.code === c;

describe('key use cases', () => {
  let sb: Sandbox;
  beforeEach(async () => {
    sb = sandbox();
    await initEncrypted(sb);
  });
  afterEach(() => sb.cleanup());

  it('add, list, remove, passwd: each password opens the repository until its key is removed', async () => {
    const ctx = encryptedContext(sb);
    const first = await listKeys(ctx);
    assert.equal(first.generation, 1);
    assert.equal(first.keys.length, 1);
    assert.deepEqual([first.keys[0]!.state, first.keys[0]!.in_use, first.keys[0]!.kdf], ['current', true, { name: 'scrypt', N: 2 ** 14, r: 8, p: 1 }]);

    const added = await addKey(ctx, { newPassword: passwordOf('second password') });
    const second = encryptedContext(sb, 'second password');
    const seen = await listKeys(second);
    assert.deepEqual(seen.keys.map((k) => [k.id === added.id, k.in_use]).sort(), [
      [false, false],
      [true, true],
    ]);

    const removed = await removeKey(second, { id: first.keys[0]!.id.slice(0, 6) });
    assert.equal(removed.removed, first.keys[0]!.id);
    await assert.rejects(openRepository(ctx), code('WRONG_PASSWORD'));

    const changed = await changePassword(second, { newPassword: passwordOf('third password') });
    assert.equal(changed.removed, added.id);
    await assert.rejects(openRepository(second), code('WRONG_PASSWORD'));
    const third = await listKeys(encryptedContext(sb, 'third password'));
    assert.deepEqual(
      third.keys.map((k) => k.id),
      [changed.added],
    );
  });

  it('passwd interrupted after its first step (the key added, the old one not yet removed): both passwords open', async () => {
    const ctx = encryptedContext(sb);
    // the first step of changePassword alone, as a crash before the removal leaves it
    await addKey(ctx, { newPassword: passwordOf('new password') });
    assert.ok((await openRepository(ctx)).unlocked);
    assert.ok((await openRepository(encryptedContext(sb, 'new password'))).unlocked);
  });

  it('refuses to remove an unknown id, the key in use and the last key; nothing changes', async () => {
    const ctx = encryptedContext(sb);
    const before = listing(sb.repo);
    const [only] = (await listKeys(ctx)).keys;
    await assert.rejects(removeKey(ctx, { id: 'ffffffffffffffff' }), (e) => code('KEY_REFUSED')(e) && /prism key list/.test((e as Error).message));
    await assert.rejects(removeKey(ctx, { id: 'not-an-id' }), code('KEY_REFUSED'));
    await assert.rejects(removeKey(ctx, { id: only!.id }), (e) => code('KEY_REFUSED')(e) && /open with another key/.test((e as Error).message));
    assert.deepEqual(listing(sb.repo), before);

    // opened with an export (no key in use): the last key is still refused
    const exported = await exportKey(ctx, {});
    const other = await importKey(appContext(sb), { text: exported.text!, source: 'test', newPassword: passwordOf('other') });
    const otherCtx = encryptedContext(sb, 'other');
    await removeKey(otherCtx, { id: only!.id });
    await assert.rejects(removeKey(otherCtx, { id: other.id }), code('KEY_REFUSED'));
    // an empty new password is refused
    const viaExport = { ...appContext(sb), kdf: encryptedContext(sb).kdf! };
    await assert.rejects(
      importKey(viaExport, { text: exported.text!, source: 'test', newPassword: { origin: 'test', read: async () => Buffer.alloc(0) } }),
      code('PASSWORD_SOURCE'),
    );
    assert.deepEqual(
      (await listKeys(otherCtx)).keys.map((k) => k.id),
      [other.id],
    );
  });

  it('crafted key files are listed as unusable and never used; with only those the open is KEY_FILE_INVALID', async () => {
    const ctx = encryptedContext(sb);
    const good = JSON.parse(readFileSync(join(sb.repo, 'keys', readdirSync(join(sb.repo, 'keys'))[0]!), 'utf8')) as Record<string, unknown>;
    const crafted: Record<string, string> = {
      '0000000000000001': JSON.stringify({ ...good, N: 2 ** 30 }),
      '0000000000000002': JSON.stringify({ ...good, r: 10 ** 6 }),
      '0000000000000003': JSON.stringify(good).slice(0, 40),
      '0000000000000004': JSON.stringify({ ...good, kdf: 'argon2id' }),
    };
    for (const [id, body] of Object.entries(crafted)) writeFileSync(join(sb.repo, 'keys', `${id}.json`), body);
    const list = await listKeys(ctx);
    assert.deepEqual(
      list.keys.filter((k) => k.state === 'unusable').map((k) => k.id),
      Object.keys(crafted),
    );
    assert.ok(list.keys.every((k) => (k.state === 'unusable') === (k.error !== undefined)));

    // the crafted ones can be removed; the good one cannot be (in use)
    await removeKey(ctx, { id: '0000000000000003' });
    for (const f of readdirSync(join(sb.repo, 'keys')))
      if (!f.startsWith('0000')) writeFileSync(join(sb.repo, 'keys', f), JSON.stringify({ ...good, N: 2 ** 30 }));
    await assert.rejects(openRepository(ctx), code('KEY_FILE_INVALID'));
  });

  it('a key file of another repository does not open this one', async () => {
    const other = sandbox();
    try {
      await initEncrypted(other);
      const [theirs] = readdirSync(join(other.repo, 'keys'));
      copyFileSync(join(other.repo, 'keys', theirs!), join(sb.repo, 'keys', theirs!));
      await assert.rejects(openRepository(encryptedContext(sb, 'wrong')), code('WRONG_PASSWORD'));
      // the same password, but the copied key file is sealed for the other repository
      const mine = readdirSync(join(sb.repo, 'keys')).filter((f) => f !== theirs);
      for (const f of mine) writeFileSync(join(sb.repo, 'keys', f), '{}');
      await assert.rejects(openRepository(encryptedContext(sb)), code('WRONG_PASSWORD'));
    } finally {
      other.cleanup();
    }
  });

  it('every password lost: the export brings the repository back (JSON and paper); another repository and a retired export are refused', async () => {
    writeDataset(sb.home, { files: 12 });
    const ctx = encryptedContext(sb);
    const backup = await createBackup(ctx, { type: 'full' });
    const json = (await exportKey(ctx, {})).text!;
    const paper = (await exportKey(ctx, { paper: true })).text!;
    await changePassword(ctx, { newPassword: passwordOf('forgotten 1') });
    await changePassword(encryptedContext(sb, 'forgotten 1'), { newPassword: passwordOf('forgotten 2') });
    await assert.rejects(openRepository(ctx), code('WRONG_PASSWORD'));

    const noPassword = { ...appContext(sb), kdf: ctx.kdf! };
    const viaJson = await importKey(noPassword, { text: json, source: 'export.json', newPassword: passwordOf('recovered') });
    assert.equal(viaJson.generation, 1);
    const target = join(sb.root, 'restored');
    await restoreBackup(encryptedContext(sb, 'recovered'), { id: backup.id, target, confirm: true });
    assert.deepEqual(hashTree(target), hashTree(sb.home));
    await importKey(noPassword, { text: paper, source: 'paper.txt', newPassword: passwordOf('from paper') });
    assert.ok((await openRepository(encryptedContext(sb, 'from paper'))).unlocked);

    const other = sandbox();
    try {
      await initEncrypted(other);
      const before = listing(other.repo);
      const otherCtx = { ...appContext(other), kdf: ctx.kdf! };
      await assert.rejects(
        importKey(otherCtx, { text: json, source: 'export.json', newPassword: passwordOf('x') }),
        (e) => code('KEY_REFUSED')(e) && /another|not of the repository/.test((e as Error).message),
      );
      assert.deepEqual(listing(other.repo), before);
    } finally {
      other.cleanup();
    }

    // a retired export: the keyring of a later generation (as `prism key rotate` writes it) is there
    const ring = readdirSync(join(sb.repo, 'keyring'))[0]!;
    copyFileSync(join(sb.repo, 'keyring', ring), join(sb.repo, 'keyring', '0000000002'));
    await assert.rejects(
      importKey(noPassword, { text: json, source: 'export.json', newPassword: passwordOf('x') }),
      (e) => code('KEY_REFUSED')(e) && /retired/.test((e as Error).message) && /export again after each/.test((e as Error).message),
    );
  });

  it('an unencrypted repository has no keys: KEY_REFUSED', async () => {
    const plain = sandbox();
    try {
      await openRepository(appContext(plain), { create: true });
      const ctx = appContext(plain);
      for (const run of [
        () => listKeys(ctx),
        () => addKey(ctx, { newPassword: passwordOf('x') }),
        () => removeKey(ctx, { id: '0123456789abcdef' }),
        () => exportKey(ctx, {}),
      ]) {
        await assert.rejects(run(), (e) => code('KEY_REFUSED')(e) && /not encrypted/.test((e as Error).message));
      }
      const json = (await exportKey(encryptedContext(sb), {})).text!;
      const key = JSON.parse(json) as { repository: string };
      const sameId = json.replace(key.repository, JSON.parse(readFileSync(join(plain.repo, 'config.json'), 'utf8')).id);
      await assert.rejects(importKey(ctx, { text: sameId, source: 'x', newPassword: passwordOf('x') }), code('KEY_REFUSED'));
    } finally {
      plain.cleanup();
    }
  });

  it('init --encrypt: a new repository reads its password with confirm; an existing one is left as it is', async () => {
    const fresh = sandbox();
    try {
      const reads: unknown[] = [];
      const password = { origin: 'test', read: async (q?: string, o?: { confirm?: boolean }) => (reads.push([q, o?.confirm]), Buffer.from('new one')) };
      const ctx = { ...encryptedContext(fresh), password };
      const r = await initEncryptedRepository(ctx);
      assert.deepEqual({ ...r, key_id: undefined }, { path: fresh.repo, created: true, encrypted: true, key_id: undefined });
      assert.deepEqual(reads, [[`Password for the new repository at ${fresh.repo}: `, true]]);
      const before = listing(fresh.repo);
      assert.deepEqual(await initEncryptedRepository(ctx), { path: fresh.repo, created: false, encrypted: true });
      assert.deepEqual(listing(fresh.repo), before);
      assert.equal(reads.length, 1);
    } finally {
      fresh.cleanup();
    }
  });

  it('export to a file: 0600, never over an existing file', async () => {
    const ctx = encryptedContext(sb);
    const file = join(sb.root, 'key.json');
    const r = await exportKey(ctx, { output: file });
    assert.equal(r.file, file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const written = readFileSync(file, 'utf8');
    assert.equal(JSON.parse(written).format, 'prism-key-export');
    await assert.rejects(exportKey(ctx, { output: file, paper: true }), code('INVALID_ARGUMENT'));
    assert.equal(readFileSync(file, 'utf8'), written);
  });
});

function listing(dir: string): string[] {
  return filesUnder(dir)
    .filter((p) => !p.includes('/locks/'))
    .map((p) => `${p} ${readFileSync(p).toString('base64').slice(0, 40)}`)
    .sort();
}
