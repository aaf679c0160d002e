import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FixedClock } from '../../core/clock.js';
import { appContext, sandbox, writeDataset, type Sandbox } from '../../testing/fixtures.js';
import { createBackup } from '../backups/create-backup.js';
import { openRepository, type AppContext } from '../context.js';
import { listBackups } from '../backups/list-backups.js';
import { verifyBackups } from '../integrity/verify-backups.js';
import { evaluateAlerts } from '../monitoring/alerts.js';
import { eventsFile } from '../monitoring/events.js';
import { copyContext } from './copy-context.js';
import { copyAndRecord, copyJob } from './copy-run.js';
import { copyIntervalMs, copyStatuses } from './copy-status.js';
import { copyTarget } from './copy-target.js';

// cron times are local: whole hours between them, whatever the machine's summer time
process.env.TZ = 'UTC';

const HOUR = 3_600_000;
const boxes: Sandbox[] = [];
after(() => boxes.forEach((b) => b.cleanup()));

function home(backup: Record<string, unknown>, clock: FixedClock): { sb: Sandbox; ctx: AppContext } {
  const sb = sandbox();
  boxes.push(sb);
  writeDataset(sb.home, { files: 6 });
  writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup }));
  return { sb, ctx: appContext(sb, {}, clock) };
}

const copyAlerts = async (ctx: AppContext) =>
  (await evaluateAlerts(ctx)).active.filter((a) => a.rule.startsWith('copy') || a.rule.startsWith('verify')).map((a) => a.key);

describe("a copy's interval and its alerts", () => {
  it('interval: the longest gap of its schedule, of the backup schedules with after_backup, the shorter of both', () => {
    const clock = new FixedClock(new Date('2026-02-11T12:00:00Z')); // a Wednesday
    const { ctx } = home({}, clock);
    const now = clock.now();
    const at = (target: { schedule?: string; afterBackup?: boolean }, config = ctx.config) =>
      copyIntervalMs(config, { schedule: target.schedule, afterBackup: target.afterBackup ?? false }, now);
    assert.equal(at({ schedule: '0 * * * *' }), HOUR);
    assert.equal(at({ schedule: '0 3 * * 1-5' }), 72 * HOUR, 'over the weekend');
    // the default backups: weekdays 03:00 and Sunday 02:00; Friday 03:00 to Sunday 02:00 is the longest wait
    assert.equal(at({ afterBackup: true }), 47 * HOUR);
    assert.equal(at({ afterBackup: true, schedule: '0 */6 * * *' }), 6 * HOUR);
    assert.equal(at({ afterBackup: true }, { ...ctx.config, backup: { ...ctx.config.backup, enabled: false } }), null);
    assert.equal(at({}), null);
  });

  it('copy_behind is raised once a backup the copy lacks has waited more than two intervals, and cleared by the next copy', async () => {
    const clock = new FixedClock(new Date('2026-02-11T12:00:00Z'));
    const { sb, ctx } = home(
      {
        schedule: { full_backup: '0 2 * * 0', incremental_backup: '0 2 * * 1-6' },
        copies: [{ name: 'second-disk', repository: 'second-disk', after_backup: true }],
      },
      clock,
    );
    const target = copyTarget(ctx.config, 'second-disk');
    await createBackup(ctx, { type: 'full', trigger: 'scheduled' });
    await copyJob(ctx, target);
    clock.advance(HOUR);
    writeFileSync(join(sb.home, 'level-1-hot', 'new.json'), '{"n":1}');
    const missed = await createBackup(ctx, { type: 'incremental', trigger: 'scheduled' });
    // daily backups: the copy may be 48 h behind before it is said to be
    clock.set(new Date(Date.parse(missed.finished_at!) + 48 * HOUR));
    assert.deepEqual(await copyAlerts(ctx), []);
    clock.advance(1000);
    const raised = (await evaluateAlerts(ctx)).active.find((a) => a.key === 'copy_behind:second-disk');
    assert.ok(raised, 'raised');
    assert.equal(raised.severity, 'high');
    assert.match(
      raised.message,
      new RegExp(
        `^The copy second-disk is 1 backup\\(s\\) behind the primary: ${missed.id} has waited 48\\.0 h for it, more than 2 × its interval of 24\\.0 h`,
      ),
    );
    const r = await copyJob(ctx, target);
    assert.deepEqual(r.copied, [missed.id]);
    assert.deepEqual(await copyAlerts(ctx), []);
  });

  it("a backup dated in the future in the primary is not copied by the service and does not hide a copy's lag", async () => {
    const clock = new FixedClock(new Date('2026-02-11T12:00:00Z'));
    const { sb, ctx } = home(
      {
        schedule: { full_backup: '0 2 * * 0', incremental_backup: '0 2 * * 1-6' },
        copies: [{ name: 'second-disk', repository: 'second-disk', after_backup: true }],
      },
      clock,
    );
    const target = copyTarget(ctx.config, 'second-disk');
    const f1 = await createBackup(ctx, { type: 'full', trigger: 'scheduled' });
    // injected into the primary: the genuine tree, dated next year, claiming to be the newest
    const injected = 'backup_20270101_000000_full';
    await (await openRepository(ctx)).saveManifest({ ...f1, id: injected, started_at: '2027-01-01T00:00:00.000Z', finished_at: '2027-01-01T00:00:01.000Z' });
    assert.deepEqual((await copyJob(ctx, target)).copied, [f1.id]);
    // by hand, everything moves, and still the copy's newest is the genuine one
    const all = await copyAndRecord(ctx, target);
    assert.deepEqual([all.copied, all.latest?.id], [[injected], f1.id]);
    clock.advance(HOUR);
    writeFileSync(join(sb.home, 'level-1-hot', 'new.json'), '{"n":2}');
    const f2 = await createBackup(ctx, { type: 'incremental', trigger: 'scheduled' });
    clock.set(new Date(Date.parse(f2.finished_at!) + 49 * HOUR));
    assert.deepEqual(await copyAlerts(ctx), ['copy_behind:second-disk']);
    const [status] = await copyStatuses(ctx, await listBackups(ctx));
    assert.deepEqual([status!.latest?.id, status!.lag.backups, status!.lag.oldest_missing?.id], [f1.id, 1, f2.id]);
  });

  it("a damaged copy found by `verify --repo` raises copy_verify_failed, not the primary's verify_failed", async () => {
    const clock = new FixedClock(new Date('2026-02-11T12:00:00Z'));
    const { sb, ctx } = home({ copies: [{ name: 'second-disk', repository: 'second-disk', after_backup: true }] }, clock);
    const target = copyTarget(ctx.config, 'second-disk');
    const m = await createBackup(ctx, { type: 'full', trigger: 'scheduled' });
    await copyJob(ctx, target);
    const packs = join(sb.home, 'second-disk', 'data');
    const pack = readdirSync(packs, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    const bytes = readFileSync(pack);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x20;
    writeFileSync(pack, bytes);
    const report = await verifyBackups(copyContext(ctx, target), { all: true, data: { kind: 'all' } });
    assert.equal(report.ok, false);
    const failed = readFileSync(eventsFile(sb.home), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((e) => e.event === 'verify.failed');
    assert.deepEqual(
      failed.map((e) => [e.backup, e.repository]),
      [[m.id, 'second-disk']],
    );
    assert.deepEqual(await copyAlerts(ctx), ['copy_verify_failed:second-disk']);
    // the primary itself is whole
    assert.equal((await verifyBackups(ctx, { all: true, data: { kind: 'all' } })).ok, true);
    assert.deepEqual(await copyAlerts(ctx), ['copy_verify_failed:second-disk']);
  });
});
