import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { zstdDecompressMaybe, filesUnder } from '../testing/leak-scan.js';
import { silentLogger } from '../core/logger.js';
import { isPrismError } from '../errors/index.js';
import { encryptedContext, initEncrypted } from '../testing/encrypted.js';
import { appContext, hashTree, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';
import { createBackup } from './backups/create-backup.js';
import { listBackups } from './backups/list-backups.js';
import { verifyBackups } from './integrity/verify-backups.js';
import { pruneRepository } from './maintenance/prune-command.js';
import { restoreBackup } from './restore/restore-backup.js';
import { openRepository } from './context.js';

describe('encrypted repository', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox();
  });
  afterEach(() => sb.cleanup());

  it('backs up, restores byte for byte, verifies and prunes; nothing readable without the key', async () => {
    writeDataset(sb.home, { files: 40 });
    writeFileSync(join(sb.home, 'level-1-hot', 'marker-name-7c1e.json'), JSON.stringify({ secret: 'marker-content-93af'.repeat(50) }));
    await initEncrypted(sb);
    const ctx = encryptedContext(sb);
    const full = await createBackup(ctx, { type: 'full', comment: 'marker-comment-5b2d' });
    assert.equal(full.status, 'completed');
    writeFileSync(join(sb.home, 'level-2-warm', 'added.txt'), 'another file');
    const inc = await createBackup(ctx, { type: 'incremental' });
    assert.equal(inc.status, 'completed');

    const target = join(sb.root, 'restored');
    await restoreBackup(ctx, { id: inc.id, target });
    assert.deepEqual(hashTree(target), hashTree(sb.home));

    const v = await verifyBackups(ctx, { all: true, data: { kind: 'all' } });
    assert.equal(v.ok, true, JSON.stringify(v));
    await pruneRepository(ctx, { maxUnused: 0 });

    // without a password: a coded error, nothing written
    const before = listing(sb.repo);
    await assert.rejects(createBackup(appContext(sb), { type: 'full' }), (e) => isPrismError(e) && e.code === 'PASSWORD_MISSING');
    await assert.rejects(openRepository(encryptedContext(sb, 'wrong password')), (e) => isPrismError(e) && e.code === 'WRONG_PASSWORD');
    assert.deepEqual(listing(sb.repo), before);

    // the manifests hold the host and user; a name of under 4 bytes turns up in any random megabyte
    assert.equal(full.host, hostname());
    const markers = ['marker-name-7c1e', 'marker-content-93af', 'marker-comment-5b2d', sb.home, 'level-1-hot', hostname(), userInfo().username].filter(
      (m) => m.length >= 4,
    );
    for (const f of filesUnder(sb.repo)) {
      const bytes = readFileSync(f);
      for (const candidate of [bytes, ...zstdDecompressMaybe(bytes)]) for (const m of markers) assert.equal(candidate.includes(m), false, `${f} holds ${m}`);
    }
  });

  it("the walk that runs while the key is derived: its result is the backup, its error the attempt's", async () => {
    writeDataset(sb.home, { files: 6 });
    await initEncrypted(sb);
    const ctx = encryptedContext(sb);
    const full = await createBackup(ctx, { type: 'full' });
    const target = join(sb.root, 'early-walk');
    await restoreBackup(ctx, { id: full.id, target });
    assert.deepEqual(hashTree(target), hashTree(sb.home));
    writeFileSync(join(sb.home, 'level-1-hot', 'new.txt'), 'seen by the early walk');
    const inc = await createBackup(ctx, { type: 'incremental' });
    assert.equal(inc.stats.files_read, 1);
    rmSync(join(sb.home, 'level-2-warm'), { recursive: true });
    await assert.rejects(createBackup(ctx, { type: 'full' }), (e) => isPrismError(e) && e.code === 'SOURCE_NOT_FOUND' && /level-2-warm/.test(e.message));
    const failed = (await listBackups(ctx)).filter((b) => b.status === 'failed');
    assert.equal(failed.length, 1, 'the attempt is recorded');
    assert.equal(failed[0]!.error!.code, 'ERR_BACKUP_003');
  });

  it('backup.encryption.enabled: the first backup creates the repository encrypted; an unencrypted one stays so, with a warning', async () => {
    writeDataset(sb.home, { files: 5 });
    mkdirSync(join(sb.home, 'config'), { recursive: true });
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { encryption: { enabled: true } } }));
    const m = await createBackup(encryptedContext(sb), { type: 'full' });
    assert.equal(m.status, 'completed');
    assert.equal(JSON.parse(readFileSync(join(sb.repo, 'config.json'), 'utf8')).encryption.cipher, 'aes-256-gcm');
    await assert.rejects(createBackup(appContext(sb), { type: 'full' }), (e) => isPrismError(e) && e.code === 'PASSWORD_MISSING');

    const plain = sandbox();
    try {
      writeDataset(plain.home, { files: 5 });
      await createBackup(appContext(plain), { type: 'full' });
      mkdirSync(join(plain.home, 'config'), { recursive: true });
      writeFileSync(join(plain.home, 'config', 'backup.json'), JSON.stringify({ backup: { encryption: { enabled: true } } }));
      const warnings: string[] = [];
      const ctx = { ...encryptedContext(plain), logger: { ...silentLogger, warn: (_: object, msg: string) => void warnings.push(msg) } };
      assert.equal((await createBackup(ctx, { type: 'full' })).status, 'completed');
      assert.equal(JSON.parse(readFileSync(join(plain.repo, 'config.json'), 'utf8')).encryption, undefined);
      assert.ok(
        warnings.some((w) => w.includes('backup.encryption.enabled is set but the repository')),
        warnings.join('\n'),
      );
    } finally {
      plain.cleanup();
    }
  });
});

function listing(dir: string): string[] {
  return filesUnder(dir).sort();
}
