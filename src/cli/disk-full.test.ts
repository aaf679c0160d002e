import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { LocalBackend } from '../backend/index.js';
import { FixedClock } from '../core/clock.js';
import { Repository, type Manifest } from '../repo/index.js';
import { mysqlScratchDb, pgScratchDb, type ScratchDb } from '../testing/databases.js';
import { hashTree, json, prism, prngBytes, readBackTree, sandbox, textData, type Sandbox } from '../testing/fixtures.js';

/** The repository lives on a small tmpfs, so the disk really fills up. */
describe('prism backup create on a full disk', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox();
    mkdirSync(sb.repo);
  });
  afterEach(() => {
    execFileSync('umount', [sb.repo]);
    sb.cleanup();
  });
  const mount = (mb: number) => execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mb}m`, 'tmpfs', sb.repo]);

  it('refuses before writing when free space is under twice the estimate (ERR_BACKUP_001)', () => {
    mount(4);
    writeFileSync(join(sb.home, 'level-3-cold', 'blob.bin'), prngBytes(6 * 1024 * 1024, 1));
    const r = prism(['backup', 'create', '--type', 'full'], sb.env);
    assert.equal(r.code, 11, r.stderr);
    assert.match(r.stderr, /ERR_BACKUP_001.*Disk space insufficient.*free/);
    assert.match(r.stderr, /prism backup cleanup/);
    assert.deepEqual(
      readdirSync(join(sb.repo), { recursive: true }).filter((n) => String(n).startsWith('data/')),
      [],
    );
    const [failed] = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    assert.equal(failed!.error!.code, 'ERR_BACKUP_001');
  });

  it("prune on a disk filled to the last 64 KB frees the deleted backup's space and loses nothing", () => {
    mount(24);
    writeFileSync(join(sb.home, 'level-3-cold', 'a.bin'), prngBytes(7 * 1024 * 1024, 31));
    const a = json<Manifest>(prism(['backup', 'create', '--type', 'full', '--json'], sb.env));
    rmSync(join(sb.home, 'level-3-cold', 'a.bin'));
    writeFileSync(join(sb.home, 'level-3-cold', 'b.bin'), prngBytes(7 * 1024 * 1024, 32));
    writeFileSync(join(sb.home, 'level-1-hot', 'small.json'), textData(200_000, 5));
    const b = json<Manifest>(prism(['backup', 'create', '--type', 'full', '--json'], sb.env));
    // fill the disk to the last few KB
    const free = Number(execFileSync('df', ['--output=avail', '-B1', sb.repo]).toString().split('\n')[1]!.trim());
    writeFileSync(join(sb.repo, 'filler'), Buffer.alloc(Math.max(0, free - 64 * 1024)));
    assert.equal(prism(['backup', 'delete', a.id, '--confirm', '--force', '--no-prune'], sb.env).code, 0);
    const prune = prism(['backup', 'prune', '--json'], sb.env);
    assert.equal(prune.code, 0, prune.stderr);
    assert.ok(json<{ freedBytes: number }>(prune).freedBytes >= 7 * 1024 * 1024, "the deleted backup's data is gone");
    assert.equal(prism(['backup', 'verify', '--all'], sb.env).code, 0);
    // with the space back, backups work again on the same disk
    rmSync(join(sb.repo, 'filler'));
    writeFileSync(join(sb.home, 'level-1-hot', 'small.json'), textData(100_000, 6));
    assert.equal(json<Manifest>(prism(['backup', 'create', '--type', 'incremental', '--json'], sb.env)).status, 'completed');
    assert.equal(prism(['backup', 'verify', b.id], sb.env).code, 0, 'nothing lost');
  });

  it('ENOSPC during the write fails with ERR_BACKUP_001, removes unfinished packs and keeps earlier backups', async () => {
    mount(12);
    for (let i = 0; i < 8; i++) writeFileSync(join(sb.home, 'level-1-hot', `doc-${i}.json`), textData(400_000, i));
    const first = json<Manifest>(prism(['backup', 'create', '--type', 'full', '--json'], sb.env));
    assert.equal(first.status, 'completed');
    const before = hashTree(sb.home);
    writeFileSync(join(sb.home, 'level-3-cold', 'blob.bin'), prngBytes(24 * 1024 * 1024, 2));
    const r = prism(['backup', 'create', '--type', 'incremental'], sb.env);
    assert.equal(r.code, 11, r.stdout + r.stderr);
    assert.match(r.stderr, /ERR_BACKUP_001/);
    assert.deepEqual(
      readdirSync(sb.repo, { recursive: true }).filter((n) => String(n).includes('.tmp-')),
      [],
      'no unfinished pack left',
    );
    const list = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
    assert.equal(list[0]!.status, 'failed');
    assert.equal(list[0]!.error!.code, 'ERR_BACKUP_001');
    const repo = await Repository.open(new LocalBackend(sb.repo), new FixedClock(new Date()));
    await repo.loadIndex();
    const back = await readBackTree(repo, first.tree!);
    for (const [path, sha] of before) if (path !== 'level-3-cold/blob.bin') assert.equal(back.get(path)?.sha256, sha, path);
  });

  /** The two engines: a table of incompressible rows, more of them, and a fingerprint of its rows. */
  const engines = [
    {
      type: 'postgres',
      scratch: () => pgScratchDb(),
      create:
        "CREATE TABLE r (id int PRIMARY KEY, b bytea); INSERT INTO r SELECT g, decode(md5(random()::text) || md5(random()::text), 'hex') FROM generate_series(1, 2000) g;",
      grow: "INSERT INTO r SELECT g, decode(string_agg(md5(random()::text || s::text), ''), 'hex') FROM generate_series(2001, 42000) g, generate_series(1, 32) s GROUP BY g;",
      sum: "SELECT count(*) || ':' || md5(string_agg(b::text, '|' ORDER BY id)) FROM r;",
    },
    {
      type: 'mysql',
      scratch: () => mysqlScratchDb(),
      create: 'CREATE TABLE r (id int PRIMARY KEY, b blob); INSERT INTO r SELECT seq, RANDOM_BYTES(32) FROM seq_1_to_2000;',
      grow: 'INSERT INTO r SELECT seq, RANDOM_BYTES(512) FROM seq_2001_to_42000;',
      sum: 'CHECKSUM TABLE r; SELECT COUNT(*) FROM r;',
    },
  ] as const;
  for (const e of engines) {
    it(`ENOSPC while a ${e.type} dump streams in: ERR_BACKUP_001, no unfinished pack, the earlier backup of the database still restores`, async () => {
      mount(12);
      const db = e.scratch();
      const into = e.scratch();
      const sum = (d: ScratchDb) =>
        d
          .sql(e.sum)
          .trim()
          .split('\n')
          .map((l) => l.split('\t').pop())
          .join(',');
      try {
        db.sql(e.create);
        writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'main', type: e.type, url: db.url }] } }));
        const first = json<Manifest>(prism(['backup', 'create', '--json'], sb.env));
        assert.equal(first.status, 'completed');
        const was = sum(db);
        db.sql(e.grow);
        const r = prism(['backup', 'create'], sb.env);
        assert.equal(r.code, 11, r.stdout + r.stderr);
        assert.match(r.stderr, /ERR_BACKUP_001/);
        assert.deepEqual(
          readdirSync(sb.repo, { recursive: true }).filter((n) => String(n).includes('.tmp-')),
          [],
          'no unfinished pack left',
        );
        const list = json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));
        assert.deepEqual([list[0]!.status, list[0]!.error!.code], ['failed', 'ERR_BACKUP_001']);
        assert.equal(prism(['backup', 'verify', '--all'], sb.env).code, 0, 'what is stored is whole');
        const restored = prism(['db', 'restore', first.id, '--db', 'main', '--target-url', into.url, '--confirm'], sb.env);
        assert.equal(restored.code, 0, restored.stderr + restored.stdout);
        assert.equal(sum(into), was);
      } finally {
        db.drop();
        into.drop();
      }
    });
  }

  it('a failed backup removes its own unfinished packs but not the one a concurrent archive-wal is writing', async () => {
    mount(12);
    for (let i = 0; i < 4; i++) writeFileSync(join(sb.home, 'level-1-hot', `doc-${i}.json`), textData(200_000, i));
    assert.equal(json<Manifest>(prism(['backup', 'create', '--type', 'full', '--json'], sb.env)).status, 'completed');
    // another process (as `pg archive-wal`, which holds only a shared lock) is half-way through a pack
    const writer = spawn(process.execPath, ['--input-type=module', '-e', CONCURRENT_WRITER, sb.repo], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = createInterface({ input: writer.stdout! })[Symbol.asyncIterator]();
    try {
      assert.equal((await lines.next()).value, 'writing');
      const temps = () => readdirSync(join(sb.repo, 'data')).filter((n) => n.startsWith('.tmp-'));
      const theirs = temps();
      assert.equal(theirs.length, 1);
      assert.match(theirs[0]!, new RegExp(`^\\.tmp-[0-9a-f]{8}-${writer.pid}-`));
      // the next backup fills the disk half-way through its packs
      writeFileSync(join(sb.home, 'level-3-cold', 'blob.bin'), prngBytes(24 * 1024 * 1024, 3));
      const r = prism(['backup', 'create', '--type', 'incremental'], sb.env);
      assert.equal(r.code, 11, r.stdout + r.stderr);
      assert.deepEqual(temps(), theirs, "only the other process's unfinished pack is left");
      writer.stdin!.end('commit\n');
      assert.equal((await lines.next()).value, 'committed');
      assert.deepEqual(temps(), []);
      assert.equal(readdirSync(join(sb.repo, 'data', 'aa')).length, 1, 'its pack landed whole');
    } finally {
      writer.kill();
    }
  });
});

/** Streams into a pack-like atomic write under data/, then commits it as data/aa/… when told. */
const CONCURRENT_WRITER = `
import { createInterface } from 'node:readline';
import { LocalBackend } from ${JSON.stringify(new URL('../backend/local-backend.js', import.meta.url).href)};
const out = new LocalBackend(process.argv[1]).openAtomic('data');
out.write(Buffer.alloc(64 * 1024, 1));
console.log('writing');
for await (const line of createInterface({ input: process.stdin })) if (line === 'commit') break;
await out.commit('data/aa/aa' + '0'.repeat(62));
console.log('committed');
`;
