import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Clock } from '../../core/clock.js';
import type { PrismError } from '../../errors/index.js';
import type { Manifest } from '../../repo/index.js';
import { verifyRestoredTree } from '../../snapshot/verify-restored.js';
import { chunkMap, events, flipByteOf, openRepo, packFile } from '../../testing/damage.js';
import { appContext, json, prism, prngBytes, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import type { AppContext } from '../context.js';
import { createBackup } from '../backups/create-backup.js';
import { readDrills, type DrillRecord } from './drill-history.js';
import { runDrill, splitFindings } from './drill.js';
import { restoreBackup } from '../restore/restore-backup.js';

const MiB = 1024 * 1024;

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${text} parses`);
}
const BIG = 'level-1-hot/aaa-big.bin';

describe('restore drills', () => {
  let sb: Sandbox;
  let ctx: AppContext;
  let scratchRoot: string;
  const drill = (c: AppContext, o: Partial<Parameters<typeof runDrill>[1]> = {}) => runDrill(c, { trigger: 'scheduled', scratchRoot, ...o });
  const scratchLeft = () => readdirSync(scratchRoot);
  beforeEach(() => {
    sb = sandbox();
    scratchRoot = join(sb.root, 'tmp');
    mkdirSync(scratchRoot);
    ctx = appContext(sb, { PRISM_BACKUP_CONCURRENCY: '1' });
  });
  afterEach(() => sb.cleanup());

  async function backup(c: AppContext = ctx): Promise<Manifest> {
    writeDataset(sb.home, { files: 6 });
    writeFileSync(join(sb.home, BIG), prngBytes(3 * MiB, 21));
    chmodSync(join(sb.home, 'config', 'gateway.json'), 0o600);
    return createBackup(c, { type: 'full' });
  }

  it('a good repository: passed, every file checked, RTO recorded within the target, scratch removed', async () => {
    const m = await backup();
    const d = await drill(ctx);
    assert.deepEqual(
      [d.status, d.backup_id, d.trigger, d.within_target, d.target_seconds, d.files_checked],
      ['passed', m.id, 'scheduled', true, 10, m.stats.files],
    );
    assert.equal(typeof d.rto_seconds, 'number');
    assert.ok(d.rto_seconds >= 0);
    assert.equal(d.error, undefined);
    assert.deepEqual(readDrills(sb.home), [d]);
    assert.deepEqual(
      events(sb).map((e) => [e.event, e.severity, e.backup]),
      [['drill.passed', 'info', m.id]],
    );
    assert.deepEqual(scratchLeft(), []);
  });

  it('slower than backup.drill.rto_target_seconds: passed, not within target, a medium event', async () => {
    writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { drill: { rto_target_seconds: 2 } } }));
    let t = Date.parse('2026-02-07T05:00:00Z');
    // every reading of the clock is a second later
    const ticking: Clock = {
      now: () => new Date((t += 1000)),
      sleep: async (ms) => {
        t += ms;
        await new Promise((r) => setImmediate(r));
      },
    };
    const slow = appContext(sb, { PRISM_BACKUP_CONCURRENCY: '1' }, ticking);
    await backup(slow);
    const d = await drill(slow);
    assert.deepEqual([d.status, d.within_target, d.target_seconds], ['passed', false, 2]);
    assert.ok(d.rto_seconds > 2);
    const ev = events(sb).filter((e) => e.event === 'drill.slow');
    assert.equal(ev.length, 1);
    assert.equal(ev[0]!.severity, 'medium');
    assert.equal(ev[0]!.rto_seconds, d.rto_seconds);
  });

  it('a corrupted repository: failed, the damaged file named, a failed drill and a high event recorded, no scratch left', async () => {
    const m = await backup();
    const damaged = await flipByteOf(sb, m, BIG);
    const d = await drill(ctx);
    assert.deepEqual([d.status, d.backup_id, d.within_target, d.error?.code], ['failed', m.id, false, 'ERR_BACKUP_005']);
    assert.deepEqual(
      d.problems?.map((p) => p.path),
      damaged,
    );
    assert.equal(readDrills(sb.home).at(-1)!.status, 'failed');
    const ev = events(sb).filter((e) => e.event === 'drill.failed');
    assert.deepEqual(
      ev.map((e) => [e.severity, e.backup, e.error_code]),
      [['high', m.id, 'ERR_BACKUP_005']],
    );
    assert.deepEqual(scratchLeft(), []);

    // as the operator sees it: exit 28, the error and its fix
    const r = prism(['drill', '--backup', m.id], { ...sb.env, TMPDIR: scratchRoot });
    assert.equal(r.code, 28, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^Restore drill of ${m.id}: FAILED$`, 'm'));
    assert.match(r.stdout, new RegExp(`^ {2}${BIG}: not restored: `, 'm'));
    assert.match(r.stderr, /^Error \[ERR_PRISM_DRILL_FAILED\] Restore drill of .* failed: 1 file\(s\) could not be restored/m);
    assert.deepEqual(scratchLeft(), []);
  });

  it('a lost pack of trees: the restore itself fails; the drill is recorded failed and its scratch removed', async () => {
    writeDataset(sb.home, { files: 4 });
    await createBackup(ctx, { type: 'full' });
    for (const p of new Set([...(await openRepo(sb)).index.entries()].map((e) => e.pack))) rmSync(packFile(sb, p));
    const d = await drill(ctx);
    assert.deepEqual([d.status, d.error?.code, d.files_checked], ['failed', 'ERR_PRISM_REPO_CORRUPT', 0]);
    assert.equal(events(sb).at(-1)!.event, 'drill.failed');
    assert.deepEqual(scratchLeft(), []);
  });

  it('problems the data already had when it was backed up (a broken JSON file, YAML streams from /usr/share/doc) are warnings naming the file: the drill passes', async () => {
    writeDataset(sb.home, { files: 3 });
    writeFileSync(join(sb.home, 'level-2-warm', 'broken.json'), '{"half":');
    writeFileSync(join(sb.home, 'config', 'gateway.yaml'), 'listen: 8080\n---\nlisten: 8443\n');
    // Debian's python3-yaml docs: spec examples in one 32-document stream, with a %TAG directive after an open document
    cpSync('/usr/share/doc/python3-yaml', join(sb.home, 'level-3-cold', 'python3-yaml'), { recursive: true });
    const m = await createBackup(ctx, { type: 'full' });
    const d = await drill(ctx, { backupId: m.id, trigger: 'manual' });
    assert.deepEqual([d.status, d.error, d.problems, d.within_target], ['passed', undefined, undefined, true]);
    assert.deepEqual(d.warnings, [
      { path: 'level-2-warm/broken.json', message: `already in the backup: health check (parse): JSON: ${jsonError('{"half":')}` },
    ]);
    assert.deepEqual(
      events(sb).map((e) => e.event),
      ['drill.passed'],
    );

    const cli = prism(['drill', '--backup', m.id], { ...sb.env, TMPDIR: scratchRoot });
    assert.equal(cli.code, 0, cli.stdout + cli.stderr);
    assert.match(cli.stdout, /^Restore drill of .*: PASSED$/m);
    assert.match(cli.stdout, /^ {2}Warning: level-2-warm\/broken\.json: already in the backup: health check \(parse\): JSON: /m);
    assert.deepEqual(scratchLeft(), []);
  });

  it('health findings: those of the backup itself (parse, config, a missing folder) are warnings; an unreadable file or a differing entry fails', () => {
    const scratch = '/tmp/prism-drill-x';
    const { inherited, fresh } = splitFindings(
      [
        { path: 'level-1-hot/a.yaml', check: 'parse', message: 'YAML: …' },
        { path: `${scratch}/config/backup.json`, check: 'config', message: 'not valid JSON' },
        { path: 'level-3-cold', check: 'source', message: 'included path does not exist' },
        { path: 'level-1-hot/b.json', check: 'readable', message: 'EIO' },
        { path: 'level-2-warm/c.json', check: 'parse', message: 'JSON: …' },
        { path: '.prism-restore.journal', check: 'restore', message: 'interrupted restore: …' },
      ],
      scratch,
      ['level-2-warm/c.json'],
    );
    assert.deepEqual(
      inherited.map((i) => i.path),
      ['level-1-hot/a.yaml', 'config/backup.json', 'level-3-cold'],
    );
    assert.deepEqual(
      fresh.map((i) => i.path),
      ['level-1-hot/b.json', 'level-2-warm/c.json', '.prism-restore.journal'],
    );
  });

  it('the restored copy is compared entry by entry: content, size, mode and missing entries are caught', async () => {
    const m = await backup();
    const dir = join(sb.root, 'copy');
    await restoreBackup(ctx, { id: m.id, target: dir });
    const repo = await openRepo(sb);
    assert.deepEqual((await verifyRestoredTree(repo, m.tree!, dir)).mismatches, []);
    const big = prngBytes(3 * MiB, 21);
    big[2 * MiB] ^= 1;
    writeFileSync(join(dir, BIG), big);
    chmodSync(join(dir, 'config', 'gateway.json'), 0o644);
    writeFileSync(join(dir, 'level-2-warm', 'shard-1', 'doc-1.json'), '{}');
    rmSync(join(dir, 'level-3-cold', 'shard-2', 'doc-2.json'));
    const c = await verifyRestoredTree(repo, m.tree!, dir);
    // chunk boundaries depend on the repository's chunker seed: find the chunk holding byte 2 MiB
    const lengths = (await chunkMap(repo, m.tree!)).get(BIG)!.map((e) => e.blobLength);
    let chunk = 0;
    for (let end = lengths[0]!; end <= 2 * MiB; end += lengths[++chunk]!);
    assert.deepEqual(
      c.mismatches.map((x) => [x.path, x.problem.replace(/\d+ bytes, the backup has \d+/, 'size')]).sort(),
      [
        ['config/gateway.json', 'mode 644, the backup has 600'],
        [BIG, `content differs from the backup in chunk ${chunk}`],
        ['level-2-warm/shard-1/doc-1.json', 'size'],
        ['level-3-cold/shard-2/doc-2.json', 'missing from the restored copy'],
      ].sort(),
    );
  });

  it('bad input: an unknown --backup id, no repository, no completed backup; --history', async () => {
    const env = { ...sb.env, TMPDIR: scratchRoot };
    const none = prism(['drill', '--json'], env);
    assert.equal(none.code, 7, none.stdout);
    assert.equal(json<{ error: { code: string } }>(none).error.code, 'ERR_PRISM_NO_REPO');
    assert.deepEqual(
      readDrills(sb.home).map((d) => [d.status, d.backup_id, d.error?.code]),
      [['failed', null, 'ERR_PRISM_NO_REPO']],
      'a drill with nothing to restore is a failed drill',
    );
    assert.equal(events(sb).at(-1)!.severity, 'high');

    writeDataset(sb.home, { files: 2 });
    await assert.rejects(createBackup(ctx, { type: 'incremental' })); // a failed attempt: no completed backup
    const noBackup = prism(['drill'], env);
    assert.equal(noBackup.code, 4, noBackup.stderr);
    assert.match(noBackup.stderr, /^Error \[ERR_PRISM_NOT_FOUND\] No completed backup to drill in /m);
    assert.equal(readDrills(sb.home).length, 2);

    const m = await createBackup(ctx, { type: 'full' });
    for (const id of ['backup_20990101_000000_full', 'not-an-id']) {
      const r = prism(['drill', '--backup', id], env);
      assert.equal(r.code, 4, r.stderr);
      assert.match(r.stderr, /^Error \[ERR_PRISM_NOT_FOUND\] /m);
    }
    await assert.rejects(drill(ctx, { backupId: 'backup_20990101_000000_full' }), (e: PrismError) => e.code === 'BACKUP_NOT_FOUND');
    assert.equal(readDrills(sb.home).length, 2, 'a mistyped id is not a drill');

    const ok = prism(['drill', '--json'], env);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual([json<DrillRecord>(ok).status, json<DrillRecord>(ok).backup_id, json<DrillRecord>(ok).trigger], ['passed', m.id, 'manual']);
    const hist = prism(['drill', '--history'], env);
    assert.equal(hist.code, 0, hist.stderr);
    const rows = hist.stdout.trim().split('\n');
    assert.match(rows[0]!, /^TIME +REPOSITORY +BACKUP +TRIGGER +STATUS +RTO +TARGET +FILES +ERROR$/);
    assert.match(rows[1]!, new RegExp(` primary +${m.id} +manual +passed +\\d+\\.\\d\\d s +10 s +${m.stats.files} *$`), 'newest first');
    assert.equal(rows.length, 4);
    assert.equal(json<DrillRecord[]>(prism(['drill', '--history', '--json'], env)).length, 3);
    const both = prism(['drill', '--history', '--backup', m.id], env);
    assert.equal(both.code, 2, both.stderr);
    assert.equal(prism(['drill', '--frobnicate'], env).code, 2);
    assert.deepEqual(scratchLeft(), []);
  });

  it('an aborted drill is not recorded and leaves no scratch directory', async () => {
    await backup();
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(drill(ctx, { signal: abort.signal }), (e: PrismError) => e.code === 'INTERRUPTED');
    assert.deepEqual(readDrills(sb.home), []);
    assert.deepEqual(scratchLeft(), []);
  });
});
