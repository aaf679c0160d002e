/**
 * Every command on a repository on a remote store, as processes: the same steps for S3 (Ceph
 * RGW), Azure Blob (Azurite) and SFTP (sshd), each store's test file calling this once. The cases
 * run in order on one repository; the later ones change it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DbRecord, Manifest } from '../repo/index.js';
import { pgScratchDb, type ScratchDb } from './databases.js';
import { hashTree, json, prism, prngBytes, sandbox, writeDataset, type CliResult, type Sandbox } from './fixtures.js';
import { remoteRepo, type RemoteKind, type RemoteRepo } from './remote-repos.js';

const MiB = 1024 * 1024;

export function remoteCommandsSuite(kind: RemoteKind): void {
  describe(`every command on a repository on ${kind} (CLI)`, () => {
    let sb: Sandbox;
    let remote: RemoteRepo;
    let env: Record<string, string>;
    let db: ScratchDb;
    let full: Manifest;
    let inc: Manifest;
    const cli = (args: string[], extra: Record<string, string> = {}): CliResult => prism(args, { ...env, ...extra });
    const ok = (args: string[]): CliResult => {
      const r = cli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      return r;
    };

    before(async () => {
      sb = sandbox();
      remote = await remoteRepo(kind, `cli-${kind}`);
      db = pgScratchDb('prism_remote');
      db.sql('CREATE TABLE t (id int PRIMARY KEY, note text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 3000) g;');
      env = { ...sb.env, ...remote.env, PRISM_BACKUP_PATH: remote.location, PRISM_BACKUP_CONCURRENCY: '2', PRISM_STORE_RETRY_SECONDS: '20' };
      writeDataset(sb.home, { files: 12 });
      // over 8 MiB to read: chunk workers open the store too; over 16 MiB to restore: restore workers too
      for (let i = 0; i < 3; i++) writeFileSync(join(sb.home, `level-1-hot/big-${i}.bin`), prngBytes(8 * MiB, 70 + i));
      mkdirSync(join(sb.home, 'config'), { recursive: true });
      writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'main', type: 'postgres', url: db.url }] } }));
    });
    after(async () => {
      db?.drop();
      await remote?.cleanup();
      sb?.cleanup();
    });

    it('backup create full (creating the repository) and incremental, with the database; restore byte for byte', () => {
      full = json<Manifest>(ok(['backup', 'create', '--type', 'full', '--json']));
      assert.equal(full.status, 'completed');
      assert.deepEqual(
        full.databases!.map((d) => [d.name, d.tables.map((t) => [t.name, t.rows])]),
        [['main', [['public.t', 3000]]]],
      );
      writeFileSync(join(sb.home, 'level-2-warm', 'added.json'), JSON.stringify({ added: kind }));
      writeFileSync(join(sb.home, 'level-1-hot/big-2.bin'), prngBytes(8 * MiB, 99));
      inc = json<Manifest>(ok(['backup', 'create', '--type', 'incremental', '--json']));
      assert.deepEqual([inc.status, inc.type, inc.parent], ['completed', 'incremental', full.id]);
      const target = join(sb.root, 'restored');
      ok(['backup', 'restore', inc.id, '--target', target]);
      const restored = hashTree(target);
      for (const [path, sum] of hashTree(sb.home, ['logs', 'temp', 'config'])) assert.equal(restored.get(path), sum, path);
    });

    it('list, info, ls, dump, diff, stats, chain', () => {
      assert.deepEqual(
        json<Manifest[]>(ok(['backup', 'list', '--json'])).map((m) => m.id),
        [inc.id, full.id],
      );
      assert.equal(json<Manifest>(ok(['backup', 'info', inc.id, '--json'])).id, inc.id);
      const entries = json<Array<{ path: string }>>(ok(['backup', 'ls', inc.id, 'level-2-warm', '-r', '--json']));
      assert.ok(entries.some((e) => e.path === 'level-2-warm/added.json'));
      assert.equal(ok(['backup', 'dump', inc.id, 'level-2-warm/added.json']).stdout, JSON.stringify({ added: kind }));
      assert.match(ok(['backup', 'diff', full.id, inc.id]).stdout, /added\.json/);
      const stats = json<{ backups: { total: number }; repository_bytes?: number }>(ok(['backup', 'stats', '--json']));
      assert.equal(stats.backups.total, 2);
      assert.match(ok(['backup', 'chain', inc.id]).stdout, new RegExp(full.id));
    });

    it('verify --all and --background, drill, health, alerts', () => {
      assert.match(ok(['backup', 'verify', '--all']).stdout, /2 backups? verified|verified/);
      const bg = json<{ ok: boolean }>(ok(['backup', 'verify', '--background', '--json']));
      assert.equal(bg.ok, true);
      assert.match(ok(['drill', '--backup', inc.id]).stdout, /passed|PASS|ok/i);
      ok(['alerts', '--json']);
    });

    it('db list and db restore into another database', () => {
      const list = json<{ databases: DbRecord[] }>(ok(['db', 'list', inc.id, '--json']));
      assert.deepEqual(
        list.databases.map((d) => d.name),
        ['main'],
      );
      const into = pgScratchDb('prism_remote_into');
      try {
        ok(['db', 'restore', inc.id, '--db', 'main', '--target-url', into.url, '--json']);
        assert.equal(
          into.sql("SELECT count(*), md5(string_agg(note, ',' ORDER BY id)) FROM t;"),
          db.sql("SELECT count(*), md5(string_agg(note, ',' ORDER BY id)) FROM t;"),
        );
      } finally {
        into.drop();
      }
    });

    it('pg archive-wal and restore-wal straight to the store', () => {
      const seg = join(sb.root, '0000000100000000000000A1');
      writeFileSync(seg, prngBytes(MiB, 5));
      ok(['pg', 'archive-wal', seg, '--repo', remote.location]);
      const again = json<{ stored: string }>(ok(['pg', 'archive-wal', seg, '--repo', remote.location, '--json']));
      assert.equal(again.stored, 'already archived');
      const back = join(sb.root, 'wal-back');
      ok(['pg', 'restore-wal', '0000000100000000000000A1', back, '--repo', remote.location]);
      assert.ok(prngBytes(MiB, 5).equals(readFileSync(back)));
      const absent = cli(['pg', 'restore-wal', '0000000100000000000000FF', back, '--repo', remote.location]);
      assert.notEqual(absent.code, 0);
    });

    it('cleanup, delete and prune; what stays verifies', () => {
      ok(['backup', 'policy']);
      ok(['backup', 'cleanup', '--dry-run']);
      ok(['backup', 'cleanup']);
      ok(['backup', 'delete', inc.id, '--confirm', '--force', '--no-prune']);
      ok(['backup', 'prune', '--max-unused', '0%']);
      assert.deepEqual(
        json<Manifest[]>(ok(['backup', 'list', '--json'])).map((m) => m.id),
        [full.id],
      );
      ok(['backup', 'verify', '--all']);
      const target = join(sb.root, 'restored-full');
      ok(['backup', 'restore', full.id, '--target', target]);
      assert.ok(readFileSync(join(target, 'level-1-hot/big-2.bin')).equals(prngBytes(8 * MiB, 72)), 'the full backup has the first version');
    });

    it('a pack deleted behind prism’s back: verify fails naming the pack; repair index counts its blobs as lost', async () => {
      const raw = await remote.raw();
      const packs = await raw.list('data');
      assert.ok(packs.length > 0);
      const victim = packs[packs.length - 1]!.name;
      await raw.delete(victim);
      const bad = cli(['backup', 'verify', '--all']);
      assert.notEqual(bad.code, 0, bad.stdout);
      assert.match(bad.stdout + bad.stderr, new RegExp(victim.slice(victim.lastIndexOf('/') + 1, victim.lastIndexOf('/') + 13)));
      const r = json<{ missing_packs: string[]; lost_blobs: number; ok: boolean }>(cli(['backup', 'repair', 'index', '--json']));
      assert.deepEqual(r.missing_packs, [victim.slice(victim.lastIndexOf('/') + 1)]);
      assert.ok(r.lost_blobs > 0 && !r.ok, JSON.stringify(r));
    });
  });
}
