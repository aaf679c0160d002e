import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../repo/index.js';
import { hashTree, json, prism, prismRun, prngBytes, sandbox, writeDataset, type Sandbox } from '../testing/fixtures.js';
import { remoteRepo, type RemoteRepo } from '../testing/remote-repos.js';

const MiB = 1024 * 1024;

/*
 * Two hosts back up into one repository on S3 at the same time while a third prunes it: the
 * backups proceed side by side (a backup lock per host), the prune waits for them (it takes the
 * exclusive lock, which waits until no backup holds its shared lock), each host's incremental
 * builds on its own full backup, and every backup verifies and restores afterwards.
 */
describe('many hosts, one repository on S3 (CLI)', () => {
  let remote: RemoteRepo;
  let a: Sandbox;
  let b: Sandbox;
  const env = (sb: Sandbox): Record<string, string> => ({
    ...sb.env,
    ...remote.env,
    PRISM_BACKUP_PATH: remote.location,
    PRISM_BACKUP_CONCURRENCY: '2',
    PRISM_BACKUP_VERBOSE: '',
  });

  before(async () => {
    remote = await remoteRepo('s3', 'many-hosts');
    a = sandbox();
    b = sandbox();
    writeDataset(a.home, { files: 10, seed: 1 });
    writeDataset(b.home, { files: 10, seed: 2 });
    writeFileSync(join(a.home, 'level-1-hot', 'a.bin'), prngBytes(9 * MiB, 1));
    writeFileSync(join(b.home, 'level-1-hot', 'b.bin'), prngBytes(9 * MiB, 2));
    // the repository exists before the race (as it would: created by the first host's first backup)
    const first = prism(['backup', 'create', '--type', 'full', '--host', 'gw-a', '--json'], env(a));
    assert.equal(first.code, 0, first.stderr);
  });
  after(async () => {
    await remote?.cleanup();
    a?.cleanup();
    b?.cleanup();
  });

  it('--host that is no host name is refused (exit 2) before anything is written', () => {
    for (const bad of ['', 'has space', 'a/b', 'x'.repeat(254)]) {
      const r = prism(['backup', 'create', '--host', bad], env(a));
      assert.equal(r.code, 2, `${JSON.stringify(bad)}: ${r.stderr}`);
      assert.match(r.stderr, /ERR_PRISM_ARGS.*--host/);
    }
  });

  it('two hosts back up at once while a third prunes; every backup verifies', async () => {
    for (const round of [1, 2]) {
      writeFileSync(join(a.home, 'level-2-warm', `round-${round}.json`), JSON.stringify({ host: 'a', round }));
      writeFileSync(join(b.home, 'level-2-warm', `round-${round}.json`), JSON.stringify({ host: 'b', round }));
      const type = round === 1 ? 'full' : 'incremental';
      const [ra, rb, rp] = await Promise.all([
        prismRun(['backup', 'create', '--type', type, '--host', 'gw-a', '--lock-wait', '2m', '--json'], env(a)),
        prismRun(['backup', 'create', '--type', type, '--host', 'gw-b', '--lock-wait', '2m', '--json'], env(b)),
        prismRun(['backup', 'prune', '--max-unused', '0%', '--lock-wait', '2m'], env(a)),
      ]);
      for (const r of [ra, rb, rp]) assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(json<Manifest>(ra).host, 'gw-a');
      assert.equal(json<Manifest>(rb).host, 'gw-b');
    }
    const all = json<Manifest[]>(prism(['backup', 'list', '--json'], env(a)));
    assert.ok(
      all.every((m) => m.status === 'completed'),
      JSON.stringify(all.map((m) => [m.id, m.status])),
    );
    const byHost = (h: string) => all.filter((m) => m.host === h).reverse(); // oldest first
    assert.deepEqual(
      byHost('gw-a').map((m) => m.type),
      ['full', 'full', 'incremental'],
    );
    assert.deepEqual(
      byHost('gw-b').map((m) => m.type),
      ['full', 'incremental'],
    );
    // each host's incremental builds on its own newest backup, never on the other host's
    assert.equal(byHost('gw-a')[2]!.parent, byHost('gw-a')[1]!.id);
    assert.equal(byHost('gw-b')[1]!.parent, byHost('gw-b')[0]!.id);
    assert.equal(new Set(all.map((m) => m.id)).size, all.length, 'distinct ids');
    const verify = prism(['backup', 'verify', '--all'], env(a));
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    for (const [sb, host] of [
      [a, 'gw-a'],
      [b, 'gw-b'],
    ] as const) {
      const target = join(sb.root, 'restored');
      const r = prism(['backup', 'restore', byHost(host).at(-1)!.id, '--target', target], env(sb));
      assert.equal(r.code, 0, r.stderr);
      const restored = hashTree(target);
      for (const [path, sum] of hashTree(sb.home, ['logs', 'temp', 'config'])) assert.equal(restored.get(path), sum, `${host}: ${path}`);
    }
  });
});
