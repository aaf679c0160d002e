import { formatBytes } from '../../core/format.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { FixedClock } from '../../core/clock.js';
import { PrismError } from '../../errors/index.js';
import type { Manifest } from '../../repo/index.js';
import { flipChunkOf, openRepo } from '../../testing/damage.js';
import { appContext, json, prism, PRISM_BIN, prngBytes, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { diffBackups, dumpFile, listBackupPath, type DiffReport, type LsEntry } from './browse-backup.js';
import type { AppContext } from '../context.js';
import { backupInfo } from './backup-info.js';
import { createBackup } from './create-backup.js';

const BIG = 'level-3-cold/big.bin';

/** `prism ARGS` with stdout as raw bytes (the fixture decodes stdout as UTF-8, which would mangle binary data). */
function prismBytes(args: string[], env: Record<string, string>): { code: number; stdout: Buffer; stderr: string } {
  const r = spawnSync(process.execPath, [PRISM_BIN, ...args], { env: { ...process.env, ...env, PRISM_BACKUP_VERBOSE: '' }, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr.toString('utf8') };
}

describe('backup ls, diff, dump', () => {
  let sb: Sandbox;
  let clock: FixedClock;
  let ctx: AppContext;
  let big: Buffer;
  let m: Manifest;

  beforeEach(async () => {
    sb = sandbox();
    clock = new FixedClock(new Date('2026-02-07T02:00:15Z'));
    ctx = appContext(sb, { PRISM_BACKUP_CONCURRENCY: '2' }, clock);
    writeDataset(sb.home, { files: 8 });
    big = prngBytes(6 * 1024 * 1024, 41);
    writeFileSync(join(sb.home, BIG), big);
    writeFileSync(join(sb.home, 'level-1-hot', 'empty.txt'), '');
    symlinkSync('shard-0/doc-0.json', join(sb.home, 'level-1-hot', 'current'));
    m = await createBackup(ctx, { type: 'full' });
  });
  afterEach(() => sb.cleanup());

  it('ls: the root, a subdirectory, one file, and -r below a directory', async () => {
    const root = await listBackupPath(ctx, m.id);
    assert.deepEqual(
      root.map((e) => [e.path, e.type]),
      [
        ['config', 'dir'],
        ['level-1-hot', 'dir'],
        ['level-2-warm', 'dir'],
        ['level-3-cold', 'dir'],
      ],
    );
    const hot = await listBackupPath(ctx, m.id, 'level-1-hot');
    assert.deepEqual(
      hot.map((e) => e.path),
      readdirSync(join(sb.home, 'level-1-hot'))
        .sort()
        .map((n) => `level-1-hot/${n}`),
    );
    assert.deepEqual(
      hot.find((e) => e.path === 'level-1-hot/current'),
      {
        path: 'level-1-hot/current',
        type: 'symlink',
        mode: 0o777,
        size: hot.find((e) => e.path === 'level-1-hot/current')!.size,
        mtime: hot.find((e) => e.path === 'level-1-hot/current')!.mtime,
        target: 'shard-0/doc-0.json',
      },
    );
    const st = statSync(join(sb.home, BIG));
    assert.deepEqual(await listBackupPath(ctx, m.id, `./${BIG}`), [
      { path: BIG, type: 'file', mode: st.mode & 0o7777, size: big.length, mtime: new Date(Math.floor(st.mtimeMs)).toISOString() },
    ]);
    const rec = await listBackupPath(ctx, m.id, 'level-3-cold', true);
    const expected = [
      'level-3-cold/big.bin',
      ...[0, 1, 2, 3].flatMap((s) => {
        const dir = join(sb.home, 'level-3-cold', `shard-${s}`);
        try {
          return [
            `level-3-cold/shard-${s}`,
            ...readdirSync(dir)
              .sort()
              .map((n) => `level-3-cold/shard-${s}/${n}`),
          ];
        } catch {
          return [];
        }
      }),
    ];
    assert.deepEqual(
      rec.map((e) => e.path),
      expected,
    );
    assert.ok(rec.every((e) => e.type === 'dir' || e.size === statSync(join(sb.home, e.path)).size));

    const cli = prism(['backup', 'ls', m.id, 'level-1-hot'], sb.env);
    assert.equal(cli.code, 0, cli.stderr);
    const lines = cli.stdout.trim().split('\n');
    assert.match(lines[0]!, /^MODE\s+SIZE\s+MODIFIED\s+PATH$/);
    assert.ok(
      lines.some((l) => /^lrwxrwxrwx\s+-\s+.+\s+level-1-hot\/current -> shard-0\/doc-0\.json$/.test(l)),
      cli.stdout,
    );
    assert.ok(
      lines.some((l) => /^drwx.{6}\s+-\s+.+\s+level-1-hot\/shard-0$/.test(l)),
      cli.stdout,
    );
    assert.ok(
      lines.some((l) => /^-rw.{7}\s+0 B\s+.+\s+level-1-hot\/empty\.txt$/.test(l)),
      cli.stdout,
    );
    assert.deepEqual(json<LsEntry[]>(prism(['backup', 'ls', m.id, '-r', '--json', 'level-3-cold'], sb.env)), rec);
    assert.deepEqual(
      json<LsEntry[]>(prism(['backup', 'ls', m.id, '--json'], sb.env)).map((e) => e.path),
      root.map((e) => e.path),
    );
  });

  it('ls and dump of a path that is not in the backup, or escapes it, are ERR_PRISM_ARGS (exit 2)', async () => {
    for (const args of [
      ['ls', m.id, 'level-1-hot/nope'],
      ['ls', m.id, '../etc'],
      ['dump', m.id, 'level-1-hot/nope.json'],
      ['dump', m.id, 'level-1-hot'],
    ]) {
      const r = prism(['backup', ...args], sb.env);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /^Error \[ERR_PRISM_ARGS\] /m);
      assert.equal(r.stdout, '');
    }
    await assert.rejects(
      listBackupPath(ctx, m.id, 'temp/upload.part'),
      (e: PrismError) => e.code === 'INVALID_ARGUMENT' && e.message.includes('"temp/upload.part" is not in backup'),
    );
    await assert.rejects(
      dumpFile(ctx, m.id, 'level-1-hot/current', async () => {}),
      (e: PrismError) => e.code === 'INVALID_ARGUMENT' && /is a symlink, not a file/.test(e.message),
    );
    await assert.rejects(
      dumpFile(ctx, m.id, 'level-2-warm', async () => {}),
      (e: PrismError) => e.code === 'INVALID_ARGUMENT' && /is a dir, not a file/.test(e.message),
    );
  });

  it('dump writes a file byte for byte: a multi-chunk binary file, a JSON file, an empty file', async () => {
    const parts: Buffer[] = [];
    const n = await dumpFile(ctx, m.id, BIG, async (c) => void parts.push(Buffer.from(c)));
    assert.equal(n, big.length);
    assert.ok(parts.length >= 2, `the file spans several chunks (${parts.length})`);
    assert.ok(Buffer.concat(parts).equals(big));

    const r = prismBytes(['backup', 'dump', m.id, BIG], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, big.length);
    assert.ok(r.stdout.equals(big), 'dumped bytes equal the original');
    const doc = 'level-2-warm/shard-1/doc-1.json';
    const d = prismBytes(['backup', 'dump', m.id, doc], sb.env);
    assert.equal(d.code, 0, d.stderr);
    assert.ok(d.stdout.equals(readFileSync(join(sb.home, doc))));
    const e = prismBytes(['backup', 'dump', m.id, 'level-1-hot/empty.txt'], sb.env);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(e.stdout.length, 0);
  });

  it('dump of a file with a damaged chunk: ERR_BACKUP_005, the copy leaves the index and the backup is marked corrupted', async () => {
    const { chunk } = await flipChunkOf(sb, m, BIG);
    await assert.rejects(
      dumpFile(ctx, m.id, BIG, async () => {}),
      (e: PrismError) => e.id === 'ERR_BACKUP_005',
    );
    assert.equal((await backupInfo(ctx, m.id)).status, 'corrupted');
    assert.equal((await openRepo(sb)).index.hasHex(chunk.id), false);
  });

  it('diff reports exactly the added, removed and modified paths, with sizes', async () => {
    clock.advance(3600_000);
    writeFileSync(join(sb.home, 'level-1-hot', 'added.json'), '{"added":true}');
    mkdirSync(join(sb.home, 'level-2-warm', 'newdir'));
    writeFileSync(join(sb.home, 'level-2-warm', 'newdir', 'inner.json'), '{"x":1}');
    const removedSize = statSync(join(sb.home, 'level-3-cold', 'shard-2', 'doc-2.json')).size;
    rmSync(join(sb.home, 'level-3-cold', 'shard-2', 'doc-2.json'));
    rmSync(join(sb.home, 'level-1-hot', 'empty.txt'));
    const docPath = 'level-2-warm/shard-1/doc-1.json';
    const oldSize = statSync(join(sb.home, docPath)).size;
    appendFileSync(join(sb.home, docPath), '{"appended":true}\n');
    const changed = Buffer.from(big);
    changed[3 * 1024 * 1024] = changed[3 * 1024 * 1024]! ^ 1;
    writeFileSync(join(sb.home, BIG), changed);
    const b = await createBackup(ctx, { type: 'incremental' });

    const r = await diffBackups(ctx, m.id, b.id);
    assert.deepEqual(r, {
      from: m.id,
      to: b.id,
      added: [
        { path: 'level-1-hot/added.json', type: 'file', size: 14 },
        { path: 'level-2-warm/newdir', type: 'dir', size: 0 },
        { path: 'level-2-warm/newdir/inner.json', type: 'file', size: 7 },
      ],
      removed: [
        { path: 'level-1-hot/empty.txt', type: 'file', size: 0 },
        { path: 'level-3-cold/shard-2/doc-2.json', type: 'file', size: removedSize },
      ],
      modified: [
        { path: 'level-2-warm/shard-1/doc-1.json', type: 'file', old_size: oldSize, new_size: oldSize + 18 },
        { path: BIG, type: 'file', old_size: big.length, new_size: big.length },
      ],
    } satisfies DiffReport);

    const back = await diffBackups(ctx, b.id, m.id);
    assert.deepEqual(
      back.added.map((x) => x.path),
      r.removed.map((x) => x.path),
    );
    assert.deepEqual(
      back.removed.map((x) => x.path),
      r.added.map((x) => x.path),
    );
    assert.deepEqual(
      back.modified.map((x) => [x.path, x.old_size, x.new_size]),
      r.modified.map((x) => [x.path, x.new_size, x.old_size]),
    );
    assert.deepEqual(await diffBackups(ctx, m.id, m.id), { from: m.id, to: m.id, added: [], removed: [], modified: [] });

    assert.deepEqual(json<DiffReport>(prism(['backup', 'diff', m.id, b.id, '--json'], sb.env)), r);
    const cli = prism(['backup', 'diff', m.id, b.id], sb.env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.deepEqual(cli.stdout.trim().split('\n'), [
      '+ level-1-hot/added.json (14 B)',
      '+ level-2-warm/newdir/',
      '+ level-2-warm/newdir/inner.json (7 B)',
      '- level-1-hot/empty.txt (0 B)',
      `- level-3-cold/shard-2/doc-2.json (${formatBytes(removedSize)})`,
      `M level-2-warm/shard-1/doc-1.json (${fmt(oldSize)} -> ${fmt(oldSize + 18)})`,
      `M ${BIG} (6.0 MB -> 6.0 MB)`,
      '3 added, 2 removed, 2 modified',
    ]);
    const unknown = prism(['backup', 'diff', m.id, 'backup_20200101_000000_full'], sb.env);
    assert.equal(unknown.code, 4, unknown.stderr);
    assert.match(unknown.stderr, /ERR_PRISM_NOT_FOUND/);
  });
});

function fmt(bytes: number): string {
  return bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`;
}
