import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { systemClock } from '../../core/clock.js';
import { events, openRepo, packFile } from '../../testing/damage.js';
import { appContext, json, prism, prngBytes, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import type { AppContext } from '../context.js';
import { createBackup } from '../backups/create-backup.js';
import { evaluateAlerts } from '../monitoring/alerts.js';
import { backgroundVerify, type BackgroundVerifyReport } from './background-verify.js';
import { archiveWal } from '../pitr/postgres/pg-archive-wal.js';
import { readWalRecord } from '../pitr/postgres/pg-records.js';
import type { VerifyReport } from './verify-backups.js';

const SEG = ['000000010000000000000001', '000000010000000000000002', '000000010000000000000003'];

describe('backup verify --all reads the PostgreSQL archive too', () => {
  let sb: Sandbox;
  let ctx: AppContext;
  let backupId = '';
  beforeEach(async () => {
    sb = sandbox();
    ctx = appContext(sb, {}, systemClock);
    writeDataset(sb.home, { files: 4 });
    backupId = (await createBackup(ctx, { type: 'full' })).id;
    for (const [i, name] of SEG.entries()) {
      writeFileSync(join(sb.root, name), prngBytes(1 << 20, 10 + i));
      await archiveWal(ctx, join(sb.root, name));
    }
    writeFileSync(join(sb.root, '00000002.history'), '1\t0/3000000\tno recovery target specified\n');
    await archiveWal(ctx, join(sb.root, '00000002.history'));
  });
  afterEach(() => sb.cleanup());

  /** Flips a byte in the middle of the compression frame holding the first chunk of a WAL file. */
  const corruptWal = async (name: string): Promise<string> => {
    const repo = await openRepo(sb);
    const rec = (await readWalRecord(repo, name))!;
    const loc = repo.index.get(rec.content[0]!)!;
    const file = packFile(sb, loc.pack);
    const buf = readFileSync(file);
    const at = loc.frameOffset + (loc.frameLength >> 1);
    buf[at] = buf[at]! ^ 0xff;
    writeFileSync(file, buf);
    return loc.pack;
  };

  it('a clean archive is its own section, in text and JSON', () => {
    const r = prism(['backup', 'verify', '--all'], sb.env);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`^${backupId}: status: completed, checksum: verified$`, 'm'));
    assert.match(r.stdout, /^PITR archive: 4 WAL file\(s\), 0 base backup\(s\): checksum: verified$/m);
    const j = json<VerifyReport>(prism(['backup', 'verify', '--all', '--json'], sb.env));
    assert.deepEqual(j.pg_archive, { ok: true, checksum: 'verified', wal_files: 4, base_backups: 0, damaged: [], damaged_records: [] });
    assert.equal(j.binlog_archive, null);
    assert.deepEqual(
      events(sb)
        .filter((e) => e.archive === 'pg')
        .at(-1)!.event,
      'verify.ok',
      'a clean archive check resolves an earlier alert',
    );
    // one backup by id is about that backup only
    assert.equal(json<VerifyReport>(prism(['backup', 'verify', backupId, '--json'], sb.env)).pg_archive, null);
  });

  it('a corrupted WAL chunk is ERR_BACKUP_005 (exit 15), names the record, and leaves the file backup alone', async () => {
    const pack = await corruptWal(SEG[1]!);
    const r = prism(['backup', 'verify', '--all'], sb.env);
    assert.equal(r.code, 15, r.stdout + r.stderr);
    assert.match(r.stdout, /^PITR archive: 4 WAL file\(s\), 0 base backup\(s\): checksum: mismatch$/m);
    assert.match(r.stdout, new RegExp(`^ {2}damaged: pg/wal/${SEG[1]}\\.json: chunk [0-9a-f]{12} in pack ${pack.slice(0, 12)} does not match its id$`, 'm'));
    assert.doesNotMatch(r.stdout, new RegExp(`pg/wal/(${SEG[0]}|${SEG[2]})`));
    assert.match(r.stdout, new RegExp(`^${backupId}: status: completed, checksum: verified$`, 'm'));
    assert.match(r.stderr, /^Error \[ERR_BACKUP_005\] Checksum mismatch: the PostgreSQL archive \(WAL, base backups\) is damaged\./m);

    const j = prism(['backup', 'verify', '--all', '--json'], sb.env);
    assert.equal(j.code, 15);
    const report = json<VerifyReport>(j);
    assert.equal(report.ok, false);
    assert.equal(report.pg_archive!.ok, false);
    assert.deepEqual(
      report.pg_archive!.damaged.map((d) => d.record),
      [`pg/wal/${SEG[1]}.json`],
    );
    const ev = events(sb).filter((e) => e.event === 'verify.failed');
    assert.equal(ev.at(-1)!.severity, 'high');
    assert.deepEqual([ev.at(-1)!.archive, ev.at(-1)!.records], ['pg', [`pg/wal/${SEG[1]}.json`]]);
    // the damaged copy left the index when it was found: a structure-only check knows it too from then on
    const quick = prism(['backup', 'verify', '--all', '--no-read-data'], sb.env);
    assert.equal(quick.code, 15, quick.stdout + quick.stderr);
    assert.match(quick.stdout, new RegExp(`^ {2}damaged: pg/wal/${SEG[1]}\\.json: chunk [0-9a-f]{12} was found damaged and dropped from the index$`, 'm'));
  });

  it("background verification rotates through the archive's packs: a damaged WAL chunk is found and raised, and stays raised", async () => {
    await corruptWal(SEG[1]!);
    let r: BackgroundVerifyReport | undefined;
    for (let i = 0; i < 10 && !r?.damaged_archives.length; i++) r = await backgroundVerify(ctx, { trigger: 'scheduled' });
    assert.deepEqual([r!.damaged_archives, r!.ok, r!.corrupted], [['pg'], false, []], 'found within a period, no file backup blamed');
    const failed = events(sb).filter((e) => e.event === 'verify.failed');
    assert.deepEqual([failed.at(-1)!.archive, failed.at(-1)!.records], ['pg', [`pg/wal/${SEG[1]}.json`]]);
    const alerts = await evaluateAlerts(ctx, { deliver: false });
    assert.ok(
      alerts.active.some((x) => x.key === 'verify_failed:archive:pg'),
      JSON.stringify(alerts.active.map((x) => x.key)),
    );
    // a later background run that does not read that pack does not clear it; verify --all still finds the damage
    await backgroundVerify(ctx, { trigger: 'scheduled' });
    assert.ok((await evaluateAlerts(ctx, { deliver: false })).active.some((x) => x.key === 'verify_failed:archive:pg'));
    assert.equal(prism(['backup', 'verify', '--all'], sb.env).code, 15);
  });

  it('a record that cannot be read, or whose pack is gone, fails verify --all', async () => {
    const repo = await openRepo(sb);
    const loc = repo.index.get((await readWalRecord(repo, SEG[2]!))!.content[0]!)!;
    writeFileSync(join(sb.repo, 'pg', 'wal', `${SEG[0]}.json`), '{"format":1,');
    writeFileSync(packFile(sb, loc.pack), Buffer.alloc(0));
    const r = prism(['backup', 'verify', '--all', '--json'], sb.env);
    assert.equal(r.code, 15, r.stderr);
    const p = json<VerifyReport>(r).pg_archive!;
    assert.deepEqual(
      p.damaged_records.map((d) => d.name),
      [`pg/wal/${SEG[0]}.json`],
    );
    assert.match(p.damaged_records[0]!.message, /not valid JSON/);
    assert.ok(
      p.damaged.some((d) => d.record === `pg/wal/${SEG[2]}.json` && /truncated/.test(d.reason)),
      JSON.stringify(p.damaged),
    );
    assert.equal(p.wal_files, 3);
  });
});
