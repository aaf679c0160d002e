/**
 * 3-2-1 with real stores: an encrypted primary on the local disk, copies on S3 (Ceph RGW), SFTP
 * (sshd) and Azure Blob (Azurite), and a disaster in which only the copies are left.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CopyReport } from '../app/copies/copy-backups.js';
import type { Manifest } from '../repo/index.js';
import { pgScratchDb, type ScratchDb } from '../testing/databases.js';
import { TEST_PASSWORD, initEncrypted } from '../testing/encrypted.js';
import { hashTree, json, prism, prngBytes, sandbox, writeDataset, type CliResult, type Sandbox } from '../testing/fixtures.js';
import { remoteRepo, type RemoteRepo } from '../testing/remote-repos.js';

const MiB = 1024 * 1024;

describe('copies of an encrypted repository on S3, SFTP and Azure (CLI)', () => {
  let sb: Sandbox;
  let s3: RemoteRepo;
  let sftp: RemoteRepo;
  let azure: RemoteRepo;
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
    [s3, sftp, azure] = await Promise.all([remoteRepo('s3', 'copy-s3'), remoteRepo('sftp', 'copy-sftp'), remoteRepo('azure', 'copy-azure')]);
    await initEncrypted(sb);
    const password = join(sb.root, 'password');
    writeFileSync(password, TEST_PASSWORD, { mode: 0o600 });
    db = pgScratchDb('prism_copy');
    db.sql('CREATE TABLE items (id int PRIMARY KEY, note text); INSERT INTO items SELECT g, md5(g::text) FROM generate_series(1, 2000) g;');
    env = { ...sb.env, ...s3.env, ...sftp.env, ...azure.env, PRISM_PASSWORD_FILE: password, PRISM_BACKUP_CONCURRENCY: '2', PRISM_STORE_RETRY_SECONDS: '20' };
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
            { name: 'blob', repository: azure.location },
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
    await Promise.all([s3?.cleanup(), sftp?.cleanup(), azure?.cleanup()]);
    sb?.cleanup();
  });

  it('copies to both stores; the copies hold the same packs and only sealed objects', async () => {
    const toS3 = json<CopyReport>(ok(['backup', 'copy', '--all', '--to', 'cloud', '--json']));
    const toSftp = json<CopyReport>(ok(['backup', 'copy', '--all', '--to', 'remote-site', '--json']));
    const toAzure = json<CopyReport>(ok(['backup', 'copy', '--all', '--to', 'blob', '--json']));
    for (const r of [toS3, toSftp, toAzure]) assert.deepEqual(r.copied, [full.id, inc.id]);
    assert.equal(toS3.packs_copied, toSftp.packs_copied);
    assert.equal(toS3.packs_copied, toAzure.packs_copied);
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

  it('with the primary lost, files and the database come back from the S3 copy; the SFTP and Azure copies verify', () => {
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
    for (const copy of ['remote-site', 'blob']) {
      const v = json<{ ok: boolean; backups: unknown[] }>(ok(['backup', 'verify', '--all', '--repo', copy, '--json']));
      assert.deepEqual([v.ok, v.backups.length], [true, 2], copy);
    }
  });

  it('with the primary still lost, `prism recover --repo cloud` brings back the database and the files from the copy', () => {
    db.sql('DELETE FROM items WHERE id > 100');
    rmSync(join(sb.home, 'level-2-warm', 'after-full.json'));
    const r = cli(['recover', '--repo', 'cloud', '--json']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const rep = json<{ backup: string; checkpoints: Array<{ n: number; ok: boolean }> }>(r);
    assert.equal(rep.backup, inc.id);
    assert.ok(rep.checkpoints.every((c) => c.ok) && rep.checkpoints.length === 4, JSON.stringify(rep.checkpoints));
    assert.equal(db.sql('SELECT count(*) FROM items').trim(), '2000');
    assert.equal(readFileSync(join(sb.home, 'level-2-warm', 'after-full.json'), 'utf8'), '{"n":1}');
  });
});
