/**
 * 3-2-1 with real stores: an encrypted primary on the local disk, copies on S3 (Ceph RGW) and
 * SFTP (sshd), and a disaster in which only the copies are left.
 */
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CopyReport } from '../app/copies/copy-backups.js';
import type { Manifest } from '../repo/index.js';
import { pgScratchDb, type ScratchDb } from '../testing/databases.js';
import { TEST_PASSWORD, initEncrypted } from '../testing/encrypted.js';
import { hashTree, json, prism, prngBytes, sandbox, writeDataset, type CliResult, type Sandbox } from '../testing/fixtures.js';
import { remoteRepo, type RemoteRepo } from '../testing/remote-repos.js';

const MiB = 1024 * 1024;

describe('copies of an encrypted repository on S3 and SFTP (CLI)', () => {
  let sb: Sandbox;
  let s3: RemoteRepo;
  let sftp: RemoteRepo;
  let db: ScratchDb;
  let env: Record<string, string>;
  let full: Manifest;
  let inc: Manifest;
  const cli = (args: string[], extra: Record<string, string> = {}): CliResult => prism(args, { ...env, ...extra });
  const ok = (args: string[], extra: Record<string, string> = {}): CliResult => {
    const r = cli(args, extra);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };

  before(async () => {
    sb = sandbox();
    [s3, sftp] = await Promise.all([remoteRepo('s3', 'copy-s3'), remoteRepo('sftp', 'copy-sftp')]);
    await initEncrypted(sb);
    const password = join(sb.root, 'password');
    writeFileSync(password, TEST_PASSWORD, { mode: 0o600 });
    db = pgScratchDb('prism_copy');
    db.sql('CREATE TABLE items (id int PRIMARY KEY, note text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 2000) g;');
    env = { ...sb.env, ...s3.env, ...sftp.env, PRISM_PASSWORD_FILE: password, PRISM_BACKUP_CONCURRENCY: '2', PRISM_STORE_RETRY_SECONDS: '20' };
    writeDataset(sb.home, { files: 20 });
    writeFileSync(join(sb.home, 'level-1-hot', 'big.bin'), prngBytes(18 * MiB, 11));
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: {
          databases: [{ name: 'main', type: 'postgres', url: db.url }],
          copies: [
            { name: 'cloud', repository: s3.location, after_backup: true },
            { name: 'remote-site', repository: sftp.location, schedule: '0 6 * * *' },
          ],
        },
      }),
    );
    full = json<Manifest>(ok(['backup', 'create', '--type', 'full', '--json']));
    writeFileSync(join(sb.home, 'level-2-warm', 'after-full.json'), '{"n":1}');
    inc = json<Manifest>(ok(['backup', 'create', '--type', 'incremental', '--json']));
  });
  after(async () => {
    db?.drop();
    await Promise.all([s3?.cleanup(), sftp?.cleanup()]);
    sb?.cleanup();
  });

  it('copies to both stores; the copies hold the same packs and only sealed objects', async () => {
    const toS3 = json<CopyReport>(ok(['backup', 'copy', '--all', '--to', 'cloud', '--json']));
    const toSftp = json<CopyReport>(ok(['backup', 'copy', '--all', '--to', 'remote-site', '--json']));
    for (const r of [toS3, toSftp]) assert.deepEqual(r.copied, [full.id, inc.id]);
    assert.equal(toS3.packs_copied, toSftp.packs_copied);
    const raw = await s3.raw();
    const names = (await raw.list('')).map((o) => o.name);
    assert.ok(names.some((n) => n.startsWith('keys/')) && names.some((n) => n.startsWith('keyring/')), names.join());
    const manifest = await raw.get(`snapshots/${inc.id}.json`);
    assert.ok(!manifest.includes(Buffer.from('"started_at"')), 'a manifest in the copy is sealed');
    // a second copy of each moves nothing
    assert.equal(json<CopyReport>(ok(['backup', 'copy', '--all', '--to', 'cloud', '--json'])).packs_copied, 0);
  });

  it('without the password, the copy does not open', () => {
    const r = cli(['backup', 'list', '--repo', 'cloud'], { PRISM_PASSWORD_FILE: '' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /PASSWORD|password/);
  });

  it('with the primary lost, files and the database come back from the S3 copy; the SFTP copy verifies', () => {
    rmSync(sb.repo, { recursive: true });
    const listed = json<Manifest[]>(ok(['backup', 'list', '--repo', 'cloud', '--json'])).map((m) => m.id);
    assert.deepEqual(listed, [inc.id, full.id]);
    const target = join(sb.root, 'restored');
    ok(['backup', 'restore', inc.id, '--repo', 'cloud', '--target', target]);
    const restored = hashTree(target);
    for (const [path, sum] of hashTree(sb.home, ['logs', 'temp', 'config', 'state'])) assert.equal(restored.get(path), sum, path);
    db.sql('DELETE FROM items WHERE id > 10');
    ok(['db', 'restore', inc.id, '--db', 'main', '--repo', 'cloud', '--confirm']);
    assert.equal(db.sql('SELECT count(*) FROM items').trim(), '2000');
    const v = json<{ ok: boolean; backups: unknown[] }>(ok(['backup', 'verify', '--all', '--repo', 'remote-site', '--json']));
    assert.deepEqual([v.ok, v.backups.length], [true, 2]);
  });
});
