import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../repo/index.js';
import { TEST_PASSWORD } from '../testing/encrypted.js';
import { json, prism, sandbox, type CliResult, type Sandbox } from '../testing/fixtures.js';
import { freePort } from '../testing/free-port.js';
import { filesUnder, zstdDecompressMaybe } from '../testing/leak-scan.js';
import { startBinlogServer, type BinlogServer } from '../testing/mariadb-server.js';

interface ArchiveReport {
  databases: Array<{ database: string; files: Array<{ name: string; stored: string; last_event_at: string }>; warnings: string[] }>;
}

/*
 * MariaDB binary log archiving into an encrypted repository created by the first backup
 * (backup.encryption.enabled), the password from PRISM_PASSWORD_FILE: archive-binlog, binlog list,
 * verify --all and a point-in-time restore read the sealed records, and a row written only after
 * the backup (so only the binary log holds it) is in no repository file.
 */
describe('MariaDB binary log archive in an encrypted repository', () => {
  let root = '';
  let server: BinlogServer;
  let sb: Sandbox;
  let env: Record<string, string>;
  const MARKER = 'binlog-marker-3f9c1e';
  const run = (args: string[], extra: Record<string, string> = {}): CliResult => prism(args, { ...env, ...extra });
  const ok = (args: string[]): CliResult => {
    const r = run(args);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r;
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'prism-enc-binlog-'));
    server = await startBinlogServer(root, await freePort());
    sb = sandbox();
    const password = join(sb.root, 'password');
    writeFileSync(password, TEST_PASSWORD, { mode: 0o600 });
    env = { ...sb.env, PRISM_PASSWORD_FILE: password, PRISM_KDF_MINIMUM: '1' };
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({ backup: { encryption: { enabled: true }, databases: [{ name: 'shop', type: 'mysql', url: server.url('shop') }] } }),
    );
  });
  after(async () => {
    await server?.stop();
    sb?.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  it('archive-binlog, binlog list, verify --all and db restore --at read the sealed archive; the row only the binary log holds is in no file', async () => {
    const sql = server.sql;
    sql("CREATE DATABASE shop; CREATE TABLE shop.t (id int PRIMARY KEY, note varchar(40)); INSERT INTO shop.t VALUES (0, 'base');");
    const backup = json<Manifest>(ok(['backup', 'create', '--json']));
    assert.equal(backup.status, 'completed');
    assert.ok(JSON.parse(readFileSync(join(sb.repo, 'config.json'), 'utf8')).encryption, 'the first backup created the repository encrypted');
    const start = backup.databases!.find((d) => d.name === 'shop')!.binlog!;
    assert.match(start.file, /^bin\.\d{6}$/);

    // after the backup: the marker row, then (in the next second, after the target) one more row
    const t1 = Math.floor(server.now() / 1000);
    sql(`SET timestamp = ${t1}; INSERT INTO t VALUES (1, '${MARKER}')`, 'shop');
    const target = new Date((t1 + 1) * 1000);
    sql(`SET timestamp = ${t1 + 1}; INSERT INTO t VALUES (2, 'after-target')`, 'shop');
    // the flush stamps the file it closes with the server's clock: past the last row
    await server.reaches((t1 + 2) * 1000);
    const archived = json<ArchiveReport>(ok(['mysql', 'archive-binlog', '--flush', '--json']));
    const files = archived.databases[0]!.files;
    assert.ok(files.length >= 1 && files.every((f) => f.stored === 'new'), JSON.stringify(files));
    assert.deepEqual(archived.databases[0]!.warnings, []);
    const again = json<ArchiveReport>(ok(['mysql', 'archive-binlog', '--json']));
    assert.ok(
      again.databases[0]!.files.every((f) => f.stored === 'already archived'),
      'the sealed records are read back: nothing is stored twice',
    );

    const list = json<{ files: Array<{ database: string; name: string }> }>(ok(['mysql', 'binlog', 'list', '--json']));
    assert.deepEqual(
      list.files.map((f) => [f.database, f.name]),
      files.map((f) => ['shop', f.name]),
    );
    const verified = json<{ ok: boolean; binlog_archive: { ok: boolean; checksum: string; files: number } | null }>(
      ok(['backup', 'verify', '--all', '--json']),
    );
    assert.equal(verified.ok, true);
    assert.deepEqual([verified.binlog_archive?.ok, verified.binlog_archive?.checksum, verified.binlog_archive?.files], [true, 'verified', files.length]);

    // only the binary log holds the marker: no repository file shows it, compressed streams inflated
    const stored = filesUnder(sb.repo);
    assert.ok(stored.some((f) => f.includes('/mysql/binlog/')));
    for (const f of stored) {
      const bytes = readFileSync(f);
      for (const candidate of [bytes, ...zstdDecompressMaybe(bytes)]) assert.equal(candidate.includes(MARKER), false, `${f} holds the marker`);
    }

    // the wrong password reads nothing
    const wrong = join(sb.root, 'wrong');
    writeFileSync(wrong, 'not the password', { mode: 0o600 });
    const refused = run(['mysql', 'binlog', 'list', '--json'], { PRISM_PASSWORD_FILE: wrong });
    assert.notEqual(refused.code, 0);
    assert.equal(json<{ error: { code: string } }>(refused).error.code, 'ERR_PRISM_WRONG_PASSWORD');

    // the database is lost and created empty again; replayed up to the target: the marker row is back, the later one is not
    sql('DROP DATABASE shop; CREATE DATABASE shop;');
    const restored = json<{ backup: string; verified: boolean; replay: { from: { file: string }; events?: number; warnings: string[] } }>(
      ok(['db', 'restore', '--db', 'shop', '--at', target.toISOString(), '--replay', '--json']),
    );
    assert.equal(restored.backup, backup.id);
    assert.equal(restored.verified, true);
    assert.equal(restored.replay.from.file, start.file);
    assert.equal(restored.replay.events, 1);
    assert.deepEqual(restored.replay.warnings, []);
    assert.equal(sql('SELECT id, note FROM t ORDER BY id', 'shop'), `0\tbase\n1\t${MARKER}`);
  });
});
