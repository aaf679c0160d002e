import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { PrismError } from '../../errors/index.js';
import { mariadb, mysqlScratchDb, pgScratchDb, psql, type ScratchDb } from '../../testing/databases.js';
import { appContext, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { freePort } from '../../testing/free-port.js';
import { LocalBackend } from '../../backend/index.js';
import { systemClock } from '../../core/clock.js';
import { RepositoryLock } from '../../repo/index.js';
import { createBackup } from '../backups/create-backup.js';
import { dumpsOnWorker } from './db-backup.js';
import { listBackups } from '../backups/list-backups.js';

/** Sessions on `db` from anyone, once the server has seen closed ones go (up to 5 s). */
async function sessionsOn(db: ScratchDb): Promise<number> {
  let n = -1;
  for (let i = 0; i < 50; i++) {
    n = Number(psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db.name}';`).trim());
    if (n === 0) return 0;
    await new Promise((r) => setTimeout(r, 100));
  }
  return n;
}

/** Resolves once `ok()` holds (checked every 50 ms, up to 10 s); fails the test otherwise. */
async function waitFor(ok: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail('timed out waiting');
}

/** OS threads of this process (the chunk worker is one). */
function threads(): number {
  return Number(/^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]);
}

describe('dumpsOnWorker: where a database dump is chunked', () => {
  it('on a worker thread only with a core to spare beside a database server on this machine', () => {
    assert.equal(dumpsOnWorker(2, 2, ['127.0.0.1']), false, 'the server needs one of the two cores');
    assert.equal(dumpsOnWorker(2, 2, ['/var/run/postgresql']), false, 'a Unix socket is this machine');
    assert.equal(dumpsOnWorker(4, 2, ['localhost', 'db.example.com']), false);
    assert.equal(dumpsOnWorker(2, 2, ['db.example.com']), true, 'a remote server: both cores are ours');
    assert.equal(dumpsOnWorker(2, 4, ['127.0.0.1']), true);
    assert.equal(dumpsOnWorker(2, 3, ['[::1]']), true);
    assert.equal(dumpsOnWorker(1, 8, ['db.example.com']), false, 'concurrency 1: one thread');
  });
});

describe('backups of a PostgreSQL database: connections', () => {
  let sb: Sandbox;
  let db: ScratchDb;
  before(() => {
    sb = sandbox();
    db = pgScratchDb();
    db.sql(`CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 50000) g;`);
    writeDataset(sb.home, { files: 5 });
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'main', type: 'postgres', url: db.url }] } }));
  });
  after(() => {
    db.drop();
    sb.cleanup();
  });

  it("the dump's connections (the snapshot and the COPY lanes) are all closed after it", async () => {
    const m = await createBackup(appContext(sb), { type: 'full' });
    assert.equal(m.status, 'completed');
    assert.deepEqual(
      m.databases![0]!.tables.map((t) => [t.name, t.rows]),
      [['public.t', 50_000]],
    );
    assert.equal(await sessionsOn(db), 0, 'a connection was left open');
  });

  it("a backup that fails while the files are stored stops the databases' chunk worker, started before them", async () => {
    const before = threads();
    // (with cores to spare: a database on this machine gets a chunk worker only then)
    await assert.rejects(
      createBackup({ ...appContext(sb), cores: 8 }, { type: 'full', signal: AbortSignal.abort() }),
      (e: PrismError) => e.code === 'INTERRUPTED',
    );
    let now = threads();
    for (let i = 0; i < 40 && now > before; i++) {
      await new Promise((r) => setTimeout(r, 50));
      now = threads();
    }
    assert.ok(now <= before, `${now - before} thread(s) left running`);
    assert.equal(await sessionsOn(db), 0);
  });

  it('a Ctrl-C while the dump waits for a table lock stops the backup at once, leaving no session, no thread and nothing half-stored', async () => {
    // another session holds the table: the dump (snapshot taken beside the file phase) waits for it
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN; LOCK TABLE t IN ACCESS EXCLUSIVE MODE');
      const threadsBefore = threads();
      const ctx = appContext(sb);
      const ctl = new AbortController();
      const backup = createBackup(ctx, { type: 'full', signal: ctl.signal });
      backup.catch(() => {}); // asserted below
      await waitFor(() => psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db.name}' AND wait_event_type = 'Lock';`).trim() === '1');
      ctl.abort();
      // rejected while the lock is still held: nothing waited for it
      await assert.rejects(backup, (e: PrismError) => e.code === 'INTERRUPTED');
      const [attempt] = await listBackups(ctx);
      assert.equal(attempt?.status, 'failed');
      assert.equal(attempt?.error?.name, 'INTERRUPTED');
      assert.equal(attempt?.databases, undefined);
      assert.deepEqual(
        readdirSync(join(sb.repo, 'data'), { recursive: true }).filter((f) => String(f).includes('.tmp-')),
        [],
        'an unfinished pack was left',
      );
      await waitFor(() => threads() <= threadsBefore);
    } finally {
      await holder.query('ROLLBACK').catch(() => {});
      await holder.end();
    }
    // the dump's backend, blocked on the lock, goes once the lock is released
    assert.equal(await sessionsOn(db), 0);
  });

  it('the same for MySQL/MariaDB: a Ctrl-C while mariadb-dump waits for a locked table ends the dump at once', async () => {
    const my = mysqlScratchDb();
    const box = sandbox();
    // another session holds the table with LOCK TABLES … WRITE (its own connection, kept open meanwhile)
    const holder = spawn('mariadb', ['-h', '127.0.0.1', '-P', '3306', '-u', 'root', '--batch', my.name], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      my.sql("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b');");
      writeDataset(box.home, { files: 2 });
      writeFileSync(join(box.home, 'config', 'backup.json'), JSON.stringify({ backup: { databases: [{ name: 'shop', type: 'mysql', url: my.url }] } }));
      holder.stdin.write('LOCK TABLES t WRITE; SELECT SLEEP(60);\n');
      const dumping = (): number =>
        Number(mariadb('test', `SELECT count(*) FROM information_schema.PROCESSLIST WHERE DB = '${my.name}' AND STATE LIKE '%metadata lock%';`).trim());
      const ctx = appContext(box);
      const ctl = new AbortController();
      const backup = createBackup(ctx, { type: 'full', signal: ctl.signal });
      backup.catch(() => {}); // asserted below
      await waitFor(() => dumping() > 0);
      ctl.abort();
      // rejected while the lock is still held: nothing waited for it
      await assert.rejects(backup, (e: PrismError) => e.code === 'INTERRUPTED');
      const [attempt] = await listBackups(ctx);
      assert.deepEqual([attempt?.status, attempt?.error?.name, attempt?.databases], ['failed', 'INTERRUPTED', undefined]);
      // mariadb-dump is gone, and with it its wait on the server
      await waitFor(() => dumping() === 0);
    } finally {
      holder.kill('SIGKILL');
      box.cleanup();
      my.drop();
    }
  });

  it('with a lock wait, the databases connect only once the lock is held: no snapshot is kept open while waiting', async () => {
    const holder = await RepositoryLock.acquire(new LocalBackend(sb.repo), { kind: 'backup', command: 'prism backup create --type full', clock: systemClock });
    let sessionsWhileWaiting = -1;
    let released: Promise<void> | undefined;
    const ctx = {
      ...appContext(sb),
      onLockWait: () => {
        // told it waits: the database has no session of the backup now; then the lock goes
        sessionsWhileWaiting = Number(psql('postgres', `SELECT count(*) FROM pg_stat_activity WHERE datname = '${db.name}';`).trim());
        released = holder.release();
      },
    };
    const m = await createBackup(ctx, { type: 'full', lockWaitMs: 30_000 });
    await released;
    assert.equal(sessionsWhileWaiting, 0, 'a connection was open while the backup waited for the lock');
    assert.equal(m.status, 'completed');
    assert.deepEqual(
      m.databases![0]!.tables.map((t) => [t.name, t.rows]),
      [['public.t', 50_000]],
    );
  });

  it('an unreachable server fails the backup with DB_UNREACHABLE, recorded as a failed attempt', async () => {
    const port = await freePort();
    const home = sandbox();
    try {
      writeDataset(home.home, { files: 2 });
      writeFileSync(
        join(home.home, 'config', 'backup.json'),
        JSON.stringify({ backup: { databases: [{ name: 'gone', type: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/x` }] } }),
      );
      const ctx = appContext(home);
      await assert.rejects(createBackup(ctx, { type: 'full' }), (e: PrismError) => e.code === 'DB_UNREACHABLE' && /127\.0\.0\.1/.test(e.message));
      const [attempt] = await listBackups(ctx);
      assert.equal(attempt?.status, 'failed');
      assert.equal(attempt?.error?.name, 'DB_UNREACHABLE');
    } finally {
      home.cleanup();
    }
  });
});
