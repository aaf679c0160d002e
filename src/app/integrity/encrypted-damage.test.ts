import assert from 'node:assert/strict';
import { cpSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { FrameCompressor } from '../../codec/compress.js';
import { FixedClock } from '../../core/clock.js';
import { isPrismError } from '../../errors/index.js';
import { LocalBackend } from '../../backend/index.js';
import { BLOB_TYPE, type Manifest } from '../../repo/index.js';
import { encodeIndex } from '../../repo/index-file.js';
import { writeKeyFile } from '../../repo/keyring.js';
import { flipChunkOf, flipPackByte, openRepo, packFile } from '../../testing/damage.js';
import { FAST_KDF, TEST_PASSWORD, initEncrypted, passwordOf } from '../../testing/encrypted.js';
import { appContext, json, prism, prngBytes, sandbox, writeDataset, type CliResult, type Sandbox } from '../../testing/fixtures.js';
import { createBackup } from '../backups/create-backup.js';
import { openRepository, type AppContext } from '../context.js';

const MiB = 1024 * 1024;
const BIG = 'level-1-hot/aaa-big.bin';
const OTHER_PASSWORD = 'a second password for a second key file';

/*
 * Damage to an encrypted repository (a flipped bit anywhere, an object copied under another
 * name, a plaintext object planted, a config edited to say "unencrypted") is reported as damage,
 * as it is for an unencrypted repository, and never as a wrong password.
 */
describe('encrypted repository: damage and tampering', () => {
  let sb: Sandbox;
  let env: Record<string, string>;
  let full: Manifest;
  let inc: Manifest;
  let pristine: string;
  const clock = new FixedClock(new Date('2026-02-07T02:00:15Z'));
  const context = (password = TEST_PASSWORD): AppContext => ({
    ...appContext(sb, { PRISM_BACKUP_CONCURRENCY: '1' }, clock),
    password: passwordOf(password),
    kdf: FAST_KDF,
  });
  const cli = (args: string[], extra: Record<string, string> = {}): CliResult => prism(args, { ...env, ...extra });
  const notWrongPassword = (r: CliResult): void => {
    assert.doesNotMatch(r.stderr, /WRONG_PASSWORD|wrong password|No key file/i, r.stderr);
    assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
  };

  before(async () => {
    sb = sandbox();
    await initEncrypted(sb);
    const password = join(sb.root, 'password');
    writeFileSync(password, TEST_PASSWORD, { mode: 0o600 });
    env = { ...sb.env, PRISM_PASSWORD_FILE: password, PRISM_BACKUP_CONCURRENCY: '1' };
    writeDataset(sb.home, { files: 6 });
    writeFileSync(join(sb.home, BIG), prngBytes(3 * MiB, 21));
    full = await createBackup(context(), { type: 'full' });
    clock.advance(3600_000);
    writeFileSync(join(sb.home, 'level-2-warm', 'added.json'), JSON.stringify({ added: true }));
    inc = await createBackup(context(), { type: 'incremental' });
    pristine = join(sb.root, 'pristine');
    cpSync(sb.repo, pristine, { recursive: true });
  });
  // every case starts from the two good backups
  beforeEach(() => {
    rmSync(sb.repo, { recursive: true, force: true });
    cpSync(pristine, sb.repo, { recursive: true });
  });
  after(() => sb.cleanup());

  const repoFile = (...parts: string[]): string => join(sb.repo, ...parts);
  const names = (dir: string): string[] => readdirSync(repoFile(dir)).sort();
  const flip = (file: string, at: number): void => {
    const buf = readFileSync(file);
    buf[at < 0 ? buf.length + at : at]! ^= 0x01;
    writeFileSync(file, buf);
  };

  /** `prism backup verify --all` reports BIG of the full backup damaged (exit 15), not a wrong password. */
  function assertBigDamaged(what: string): void {
    const r = cli(['backup', 'verify', '--all']);
    assert.equal(r.code, 15, `${what}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^${full.id}: status: corrupted, checksum: mismatch$`, 'm'), what);
    assert.match(r.stdout, new RegExp(`^ {2}damaged: ${BIG}$`, 'm'), what);
    assert.match(r.stderr, /^Error \[ERR_BACKUP_005\] Checksum mismatch/m, what);
    notWrongPassword(r);
  }

  it('a flipped bit in a pack frame: verify exits 15 and names the file', async () => {
    await flipChunkOf(sb, full, BIG, TEST_PASSWORD);
    assertBigDamaged('frame body');
  });

  it("a flipped bit in a frame's seal header (scheme byte, key generation): verify exits 15 and names the file", async () => {
    const { chunk } = await flipChunkOf(sb, full, BIG, TEST_PASSWORD);
    for (const [what, at] of [
      ['scheme', 0],
      ['generation', 1],
      ['generation, high byte', 4],
    ] as const) {
      rmSync(sb.repo, { recursive: true, force: true });
      cpSync(pristine, sb.repo, { recursive: true });
      flip(packFile(sb, chunk.pack), chunk.frameOffset + at);
      assertBigDamaged(what);
    }
  });

  it('a flipped bit in a pack trailer: verify exits 15 naming the pack and its trailer', () => {
    const pack = readdirSync(repoFile('data'), { recursive: true })
      .map(String)
      .filter((n) => n.includes('/'))
      .map((n) => n.slice(3))[0]!;
    flipPackByte(sb, pack, 'trailer');
    const r = cli(['backup', 'verify', '--all']);
    assert.equal(r.code, 15, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^DAMAGED trailer: pack ${pack.slice(0, 12)}: `, 'm'));
    notWrongPassword(r);
  });

  it('a flipped bit in an index file: INDEX_DAMAGED naming it (exit 8); `repair index` rebuilds it and verify is clean', () => {
    const [name] = names('index');
    flip(repoFile('index', name!), 40);
    const r = cli(['backup', 'verify', '--all']);
    assert.equal(r.code, 8, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`^Error \\[ERR_PRISM_INDEX_DAMAGED\\] Index file index/${name} cannot be decrypted: `, 'm'));
    notWrongPassword(r);
    const repair = cli(['backup', 'repair', 'index', '--json']);
    assert.equal(repair.code, 0, repair.stdout + repair.stderr);
    const again = cli(['backup', 'verify', '--all']);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.equal(again.stdout.trim().split('\n').length, 2);
  });

  it('an index file copied over another: refused as damage (the name is authenticated)', () => {
    const [a, b] = names('index');
    assert.ok(a && b, 'two index files');
    writeFileSync(repoFile('index', b), readFileSync(repoFile('index', a)));
    const r = cli(['backup', 'verify', '--all']);
    assert.equal(r.code, 8, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`ERR_PRISM_INDEX_DAMAGED\\] Index file index/${b} cannot be decrypted`));
    notWrongPassword(r);
  });

  it('a flipped bit in a manifest: that backup is reported damaged, the other still lists and verifies', () => {
    flip(repoFile('snapshots', `${full.id}.json`), 30);
    assertManifestDamaged(full.id, inc.id);
  });

  it('a manifest copied over another: refused as damage (the name is authenticated)', () => {
    writeFileSync(repoFile('snapshots', `${inc.id}.json`), readFileSync(repoFile('snapshots', `${full.id}.json`)));
    assertManifestDamaged(inc.id, full.id);
  });

  it('a plaintext manifest planted into the repository: refused, not listed', async () => {
    const repo = await openRepo(sb, TEST_PASSWORD);
    const planted = { ...(await repo.loadManifest(full.id)), id: 'backup_20260207_050000_full', comment: 'planted' };
    writeFileSync(repoFile('snapshots', `${planted.id}.json`), JSON.stringify(planted, null, 2));
    const list = json<Array<{ id: string; status: string }>>(cli(['backup', 'list', '--json']));
    assert.deepEqual(
      list.map((m) => [m.id, m.status]),
      [
        [inc.id, 'completed'],
        [full.id, 'completed'],
        [planted.id, 'damaged'],
      ],
    );
    const r = cli(['backup', 'info', planted.id]);
    assert.equal(r.code, 8, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`ERR_PRISM_REPO_CORRUPT\\] .*snapshots/${planted.id}\\.json cannot be decrypted`));
    notWrongPassword(r);
  });

  it('a plaintext index file planted into the repository: refused as a damaged index', async () => {
    const repo = await openRepo(sb, TEST_PASSWORD);
    const plain = encodeIndex([...repo.index.entries()]);
    writeFileSync(repoFile('index', 'f'.repeat(64)), plain);
    const r = cli(['backup', 'verify', '--all']);
    assert.equal(r.code, 8, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`ERR_PRISM_INDEX_DAMAGED\\] Index file index/${'f'.repeat(64)} cannot be decrypted`));
    notWrongPassword(r);
  });

  it("a frame moved into another pack at the same offset: the frame opens, but the blob's keyed id does not match: damage", async () => {
    const repo = await openRepo(sb, TEST_PASSWORD);
    const written = [];
    for (const seed of [1, 2]) {
      const data = prngBytes(600 * 1024, seed);
      const writer = repo.packWriter(new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 3 }));
      const id = repo.crypt.blobIdHex(data);
      writer.add(BLOB_TYPE.data, id, data);
      const entries = await writer.finish();
      await repo.writeIndex(entries);
      written.push(entries.find((e) => e.id === id)!);
    }
    const [a, b] = written as [(typeof written)[0], (typeof written)[0]];
    assert.notEqual(a.pack, b.pack);
    assert.deepEqual([a.frameOffset, a.frameLength], [b.frameOffset, b.frameLength], 'two frames of one size at one offset');
    const from = readFileSync(packFile(sb, a.pack)).subarray(a.frameOffset, a.frameOffset + a.frameLength);
    const into = readFileSync(packFile(sb, b.pack));
    from.copy(into, b.frameOffset);
    writeFileSync(packFile(sb, b.pack), into);
    const fresh = await openRepo(sb, TEST_PASSWORD);
    await assert.rejects(fresh.readBlob(b.id), (e) => isPrismError(e) && e.code === 'CHECKSUM_MISMATCH');
    assert.equal((await fresh.readBlob(a.id)).length, 600 * 1024, 'the frame where it was written still reads');
  });

  it('a flipped bit in a lock file: the lock is unreadable, so it is not live; a backup runs, and nothing asks for a password again', async () => {
    const repo = await openRepository(context());
    const lock = await repo.lock('shared', 'a process that died');
    const [name] = names('locks');
    const body = readFileSync(repoFile('locks', name!));
    await lock.release();
    writeFileSync(repoFile('locks', name!), body); // left behind by a process that died
    flip(repoFile('locks', name!), 20);
    assert.deepEqual(names('locks'), [name]);
    const r = cli(['backup', 'create', '--json']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    notWrongPassword(r);
    assert.equal(json<Manifest>(r).status, 'completed');
  });

  it('a flipped bit in the keyring: the repository refuses to open with REPO_CORRUPT, not WRONG_PASSWORD', () => {
    const [ring] = names('keyring');
    for (const at of [0, 2, 30, -1]) {
      rmSync(sb.repo, { recursive: true, force: true });
      cpSync(pristine, sb.repo, { recursive: true });
      flip(repoFile('keyring', ring!), at);
      const before = snapshotOf(sb.repo);
      for (const args of [
        ['backup', 'list'],
        ['backup', 'create'],
      ]) {
        const r = cli(args);
        assert.equal(r.code, 8, `byte ${at}, ${args.join(' ')}: ${r.stdout}${r.stderr}`);
        assert.match(r.stderr, new RegExp(`^Error \\[ERR_PRISM_REPO_CORRUPT\\] .*keyring/${ring}`, 'm'));
        notWrongPassword(r);
      }
      assert.deepEqual(snapshotOf(sb.repo), before, 'nothing written');
    }
  });

  it("a flipped bit in a key file's sealed data: that key no longer opens; with another good key file the repository still opens", async () => {
    const repo = await openRepo(sb, TEST_PASSWORD);
    const [first] = names('keys');
    await writeKeyFile(backendFor(sb), repo.config, repo.unlocked!, Buffer.from(OTHER_PASSWORD), FAST_KDF, new Date());
    const file = repoFile('keys', first!);
    const record = JSON.parse(readFileSync(file, 'utf8')) as { data: string };
    const data = Buffer.from(record.data, 'base64');
    data[data.length >> 1]! ^= 0x01;
    writeFileSync(file, JSON.stringify({ ...record, data: data.toString('base64') }, null, 2));
    await assert.rejects(openRepository(context()), (e) => isPrismError(e) && e.code === 'WRONG_PASSWORD');
    const other = await openRepository(context(OTHER_PASSWORD));
    assert.deepEqual((await other.listManifests()).map((m) => m.id).sort(), [full.id, inc.id]);
  });

  it('config.json edited to say "unencrypted" (encryption removed, a seed added): REPO_CORRUPT, nothing written in plaintext', () => {
    const config = JSON.parse(readFileSync(repoFile('config.json'), 'utf8')) as Record<string, unknown> & { chunker: object };
    delete config.encryption;
    writeFileSync(repoFile('config.json'), JSON.stringify({ ...config, version: 1, chunker: { ...config.chunker, seed: 'ab'.repeat(32) } }, null, 2));
    const before = snapshotOf(sb.repo);
    for (const args of [
      ['backup', 'create'],
      ['backup', 'list'],
      ['backup', 'verify', '--all'],
      ['backup', 'prune'],
    ]) {
      const r = prism(args, sb.env); // no password: an unencrypted repository needs none
      assert.equal(r.code, 8, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /^Error \[ERR_PRISM_REPO_CORRUPT\] .*config\.json says the repository is not encrypted, but it holds keyring\//m);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
    }
    assert.deepEqual(snapshotOf(sb.repo), before, 'nothing written');
  });

  /** `damaged` is reported, `good` still lists and verifies. */
  function assertManifestDamaged(damaged: string, good: string): void {
    const list = json<Array<{ id: string; status: string; error?: { code: string } }>>(cli(['backup', 'list', '--json']));
    assert.deepEqual(
      list.map((m) => [m.id, m.status, m.error?.code]),
      [
        [good, 'completed', undefined],
        [damaged, 'damaged', 'ERR_PRISM_REPO_CORRUPT'],
      ],
    );
    const info = cli(['backup', 'info', damaged]);
    assert.equal(info.code, 8, info.stdout + info.stderr);
    assert.match(info.stderr, new RegExp(`^Error \\[ERR_PRISM_REPO_CORRUPT\\] .*snapshots/${damaged}\\.json cannot be decrypted`, 'm'));
    notWrongPassword(info);
    const v = cli(['backup', 'verify', '--all']);
    assert.match(v.stdout, new RegExp(`^${good}: status: completed, checksum: verified$`, 'm'));
    assert.match(v.stdout + v.stderr, new RegExp(`snapshots/${damaged}\\.json`), 'verify names the damaged manifest');
    notWrongPassword(v);
  }
});

function backendFor(sb: Sandbox) {
  return new LocalBackend(sb.repo);
}

/** Every file under `dir` with its size and mtime. */
function snapshotOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => {
      const p = join(d.parentPath, d.name);
      const s = statSync(p);
      return `${p} ${s.size} ${s.mtimeMs}`;
    })
    .sort();
}
