import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FixedClock } from '../core/clock.js';
import {
  alertConditions,
  SOP_ALERT_RULES,
  type AlertBackup,
  type AlertCopy,
  type AlertDrill,
  type AlertRecords,
  type AttemptStatus,
  type VerifyEvent,
} from './alert-rules.js';
import { copyLag } from './copy-lag.js';

const NOW = new Date('2026-02-08T12:00:00Z');
const clock = new FixedClock(NOW);
const HOUR = 3_600_000;

let seq = 0;
/** An attempt that started `hoursAgo` before NOW and took `seconds`. */
function bk(hoursAgo: number, status: AttemptStatus = 'completed', opts: { type?: string; seconds?: number; code?: string } = {}): AlertBackup {
  const start = new Date(NOW.getTime() - hoursAgo * HOUR);
  const type = opts.type ?? 'full';
  const id = `backup_${start.toISOString().replace(/\D/g, '').slice(0, 8)}_${start.toISOString().replace(/\D/g, '').slice(8, 14)}_${type}_${++seq}`;
  const ms = (opts.seconds ?? 10) * 1000;
  const failed = status === 'failed' || status === 'partial' || status === 'corrupted';
  return {
    id,
    type,
    status,
    started_at: start.toISOString(),
    finished_at: status === 'running' ? null : new Date(start.getTime() + ms).toISOString(),
    duration_ms: status === 'running' ? null : ms,
    error: failed ? { code: opts.code ?? 'ERR_BACKUP_001', message: 'Disk space insufficient' } : null,
  };
}

function records(r: Partial<AlertRecords>): AlertRecords {
  return { backups: [bk(1)], verifyEvents: [], damagedManifests: [], drills: [], storageUsedPercent: 50, ...r };
}

const keys = (r: Partial<AlertRecords>) =>
  alertConditions(records(r), SOP_ALERT_RULES, clock.now())
    .map((c) => `${c.severity}:${c.key.replace(/:.*/, '')}`)
    .sort();
const find = (r: Partial<AlertRecords>, prefix: string) => alertConditions(records(r), SOP_ALERT_RULES, clock.now()).filter((c) => c.key.startsWith(prefix));

describe('SOP §5.2 alert rules', () => {
  it('a healthy history raises nothing', () => {
    assert.deepEqual(keys({ backups: [bk(50), bk(26), bk(2)] }), []);
  });

  it('3 consecutive failures is critical; 2, or 3 broken by a success, is not', () => {
    const two = [bk(30), bk(3, 'failed'), bk(2, 'failed')];
    assert.deepEqual(keys({ backups: [bk(5), ...two.slice(1)] }), ['high:backup_failed']);
    const three = [bk(5), bk(4, 'failed'), bk(3, 'partial'), bk(2, 'failed')];
    const c = find({ backups: three }, 'consecutive_failures');
    assert.equal(c.length, 1);
    assert.equal(c[0]!.severity, 'critical');
    assert.equal(c[0]!.details.failures, 3);
    assert.match(c[0]!.message, /last 3 backup attempts failed \(ERR_BACKUP_001\)/);
    assert.deepEqual(find({ backups: [bk(6, 'failed'), bk(5, 'failed'), bk(4), bk(3, 'failed'), bk(2, 'failed')] }, 'consecutive'), []);
    // newest first: order of the input does not matter, a running attempt is not an outcome
    assert.equal(find({ backups: [bk(2, 'failed'), bk(0.1, 'running'), bk(5), bk(3, 'failed'), bk(4, 'failed')] }, 'consecutive').length, 1);
  });

  it('no completed backup for 48 h is critical, at 48 h exactly it is not', () => {
    // a 10 s backup started 48 h + 10 s ago finished exactly 48 h ago
    const at48 = bk(48 + 10 / 3600);
    assert.deepEqual(find({ backups: [at48] }, 'no_recent_success'), []);
    const over = bk(48 + 11 / 3600);
    const c = find({ backups: [over, bk(1, 'failed')] }, 'no_recent_success');
    assert.equal(c.length, 1);
    assert.equal(c[0]!.severity, 'critical');
    assert.match(c[0]!.message, /No successful backup for 48\.0 hours/);
    // partial and corrupted are not successes; none at all is reported as such
    assert.equal(find({ backups: [bk(2, 'partial'), bk(3, 'corrupted')] }, 'no_recent_success').length, 1);
    assert.match(find({ backups: [] }, 'no_recent_success')[0]!.message, /No successful backup yet/);
  });

  it('the newest attempt failed or partial is high; an older failure is not', () => {
    const failed = bk(1, 'failed', { code: 'ERR_BACKUP_003' });
    const c = find({ backups: [bk(3), failed] }, 'backup_failed');
    assert.equal(c.length, 1);
    assert.equal(c[0]!.key, `backup_failed:${failed.id}`);
    assert.equal(c[0]!.severity, 'high');
    assert.match(c[0]!.message, /failed \[ERR_BACKUP_003\]/);
    const partial = find({ backups: [bk(3), bk(1, 'partial')] }, 'backup_failed');
    assert.match(partial[0]!.message, /ended partial/);
    assert.deepEqual(find({ backups: [bk(3, 'failed'), bk(1)] }, 'backup_failed'), []);
    const fixed = alertConditions(records({ backups: [failed] }), { ...SOP_ALERT_RULES, fixForCode: (code) => `fix for ${code}` }, NOW);
    assert.equal(fixed.find((x) => x.rule === 'backup_failed')!.fix, 'fix for ERR_BACKUP_003');
  });

  it('storage: over 80 medium, over 90 high, over 95 critical — only the highest, none at the thresholds', () => {
    const at = (p: number) => find({ storageUsedPercent: p }, 'storage').map((c) => `${c.severity}:${c.rule}`);
    assert.deepEqual(at(80), []);
    assert.deepEqual(at(80.01), ['medium:storage_over_80']);
    assert.deepEqual(at(90), ['medium:storage_over_80']);
    assert.deepEqual(at(90.5), ['high:storage_over_90']);
    assert.deepEqual(at(95), ['high:storage_over_90']);
    assert.deepEqual(at(95.1), ['critical:storage_over_95']);
    assert.deepEqual(at(100), ['critical:storage_over_95']);
    assert.match(find({ storageUsedPercent: 96.04 }, 'storage')[0]!.message, /96\.0% used \(over 95%\)/);
    assert.deepEqual(find({ storageUsedPercent: null }, 'storage'), []);
  });

  it('verification failure: a corrupted backup, a damaged manifest, a verify.failed event until a later verify.ok', () => {
    const good = bk(5);
    const bad = bk(3, 'corrupted', { code: 'ERR_BACKUP_005' });
    const c = find({ backups: [good, bad, bk(1)] }, 'verify_failed');
    assert.deepEqual(
      c.map((x) => [x.key, x.severity]),
      [[`verify_failed:${bad.id}`, 'high']],
    );
    assert.equal(find({ backups: [good], damagedManifests: ['snapshots/backup_x.json'] }, 'verify_failed')[0]!.key, 'verify_failed:snapshots/backup_x.json');
    const failedAt = (h: number): VerifyEvent => ({
      time: new Date(NOW.getTime() - h * HOUR).toISOString(),
      event: 'verify.failed',
      backup: good.id,
      message: 'pack missing',
    });
    const okAt = (h: number): VerifyEvent => ({ time: new Date(NOW.getTime() - h * HOUR).toISOString(), event: 'verify.ok', backup: good.id });
    assert.equal(find({ backups: [good, bk(1)], verifyEvents: [failedAt(2)] }, 'verify_failed').length, 1);
    assert.equal(find({ backups: [good, bk(1)], verifyEvents: [okAt(1), failedAt(2)] }, 'verify_failed').length, 0, 'a later successful verify clears it');
    assert.equal(find({ backups: [good, bk(1)], verifyEvents: [okAt(3), failedAt(2)] }, 'verify_failed').length, 1, 'an earlier one does not');
    assert.equal(find({ backups: [bk(1)], verifyEvents: [failedAt(2)] }, 'verify_failed').length, 0, 'a deleted backup raises nothing');
    // the corrupted status and an event for the same backup are one condition
    assert.equal(find({ backups: [bad, bk(1)], verifyEvents: [{ ...failedAt(2), backup: bad.id }] }, 'verify_failed').length, 1);
  });

  it('verification failure of a point-in-time archive (pg, mysql): raised per archive until a later clean verify --all', () => {
    const ev = (h: number, event: string, archive: string): VerifyEvent => ({
      time: new Date(NOW.getTime() - h * HOUR).toISOString(),
      event,
      archive,
      message: '1 record(s) damaged: pg/wal/x.json',
    });
    const c = find(
      {
        backups: [bk(1)],
        verifyEvents: [ev(3, 'verify.ok', 'pg'), ev(2, 'verify.failed', 'pg'), ev(2, 'verify.failed', 'mysql'), ev(1, 'verify.ok', 'mysql')],
      },
      'verify_failed',
    );
    assert.deepEqual(
      c.map((x) => [x.key, x.severity, x.details]),
      [['verify_failed:archive:pg', 'high', { archive: 'pg', time: new Date(NOW.getTime() - 2 * HOUR).toISOString() }]],
    );
    assert.match(
      c[0]!.message,
      /^The PostgreSQL point-in-time archive \(WAL, base backups\) failed verification at .*: 1 record\(s\) damaged: pg\/wal\/x\.json\./,
    );
    assert.match(c[0]!.fix, /prism pg basebackup/);
    assert.deepEqual(
      find({ backups: [bk(1)], verifyEvents: [ev(2, 'verify.failed', 'pg'), ev(1, 'verify.ok', 'pg')] }, 'verify_failed'),
      [],
      'a later clean check resolves it',
    );
    assert.match(find({ backups: [bk(1)], verifyEvents: [ev(1, 'verify.failed', 'mysql')] }, 'verify_failed')[0]!.fix, /prism backup create/);
  });

  it('slow backup: more than 2× the median of at least 3 earlier completed backups of its type', () => {
    const history = [
      bk(50, 'completed', { seconds: 10 }),
      bk(40, 'completed', { seconds: 30 }),
      bk(30, 'completed', { seconds: 20 }),
      bk(20, 'failed', { seconds: 500 }),
    ];
    const inc = [
      bk(45, 'completed', { type: 'incremental', seconds: 100 }),
      bk(35, 'completed', { type: 'incremental', seconds: 100 }),
      bk(25, 'completed', { type: 'incremental', seconds: 100 }),
    ];
    // median 20 s: 40 s is not over 2×, 40.1 s is
    assert.deepEqual(find({ backups: [...history, ...inc, bk(1, 'completed', { seconds: 40 })] }, 'slow'), []);
    const slow = bk(1, 'completed', { seconds: 40.1 });
    const c = find({ backups: [...history, ...inc, slow] }, 'slow');
    assert.deepEqual(
      c.map((x) => [x.key, x.severity]),
      [[`slow_backup:${slow.id}`, 'medium']],
    );
    assert.match(c[0]!.message, /took 40\.1 s, more than 2× its usual 20\.0 s \(median of 3\)/);
    // only two earlier: no usual time yet
    assert.deepEqual(find({ backups: [history[1]!, history[2]!, bk(1, 'completed', { seconds: 400 })] }, 'slow'), []);
    // the incremental type has its own usual time
    assert.deepEqual(find({ backups: [...history, ...inc, bk(1, 'completed', { type: 'incremental', seconds: 150 })] }, 'slow'), []);
    // a running backup counts from its start: 41 s running against a 20 s median
    const running = { ...bk(41 / 3600, 'running'), duration_ms: null };
    assert.equal(find({ backups: [...history, bk(2, 'completed', { seconds: 20 }), running] }, 'slow')[0]!.key, `slow_backup:${running.id}`);
    assert.deepEqual(find({ backups: [...history, bk(2, 'completed', { seconds: 20 }), { ...bk(39 / 3600, 'running'), duration_ms: null }] }, 'slow'), []);
  });

  it('an encrypted repository the password does not open is critical, with the fix of its error code', () => {
    const access = { code: 'ERR_PRISM_WRONG_PASSWORD', message: 'No key file opens with the password from PRISM_PASSWORD_FILE.' };
    const [c, ...rest] = alertConditions(records({ repositoryAccess: access }), { ...SOP_ALERT_RULES, fixForCode: (code) => `fix of ${code}` }, clock.now());
    assert.deepEqual(rest, []);
    assert.deepEqual(
      [c!.key, c!.severity, c!.rule, c!.fix, c!.details],
      ['repository_key', 'critical', 'repository_key', 'fix of ERR_PRISM_WRONG_PASSWORD', { code: access.code }],
    );
    assert.match(c!.message, /cannot be opened \[ERR_PRISM_WRONG_PASSWORD\]: No key file opens/);
    assert.deepEqual(keys({ repositoryAccess: null }), []);
  });

  it('backups dated in the future (over 1 hour ahead) raise future_backups (high) and are no recent success nor the newest attempt', () => {
    const fakes = [bk(-48), bk(-24 * 365, 'failed')];
    const history = [bk(60), bk(3, 'failed')];
    assert.deepEqual(keys({ backups: [...history, ...fakes] }), ['critical:no_recent_success', 'high:backup_failed', 'high:future_backups']);
    const [c] = find({ backups: [...history, ...fakes] }, 'future_backups');
    assert.deepEqual([c!.severity, c!.rule, c!.details.ids], ['high', 'future_backups', fakes.map((b) => b.id)]);
    assert.match(c!.message, /^2 backup\(s\) dated in the future: /);
    assert.match(c!.fix, /prism backup info <id>.*prism backup delete <id> --confirm/);
    // within the clock skew allowance: an ordinary recent backup
    assert.deepEqual(keys({ backups: [bk(60), { ...bk(-0.5), finished_at: new Date(NOW.getTime() + 0.9 * HOUR).toISOString() }] }), []);
    // a finish time over 1 hour ahead is enough
    assert.deepEqual(keys({ backups: [bk(3), { ...bk(1), finished_at: new Date(NOW.getTime() + 2 * HOUR).toISOString() }] }), ['high:future_backups']);
  });

  it('drills: the latest failed is high, over its RTO target medium, within it nothing', () => {
    const drill = (h: number, status: AlertDrill['status'], rto: number): AlertDrill => ({
      time: new Date(NOW.getTime() - h * HOUR).toISOString(),
      backup_id: 'backup_20260208_020000_full',
      status,
      rto_seconds: rto,
      target_seconds: 10,
    });
    assert.deepEqual(keys({ drills: [drill(5, 'failed', 3), drill(1, 'passed', 10)] }), [], 'exactly at the target is within it');
    assert.deepEqual(keys({ drills: [drill(1, 'passed', 10.5)] }), ['medium:drill_over_rto']);
    const failed = find(
      { drills: [drill(5, 'passed', 2), { ...drill(1, 'failed', 4), error: { code: 'ERR_BACKUP_005', message: 'chunk damaged' } }] },
      'drill',
    );
    assert.deepEqual(
      failed.map((x) => [x.key, x.severity]),
      [['drill_failed', 'high']],
    );
    assert.match(failed[0]!.message, /failed \[ERR_BACKUP_005\]: chunk damaged/);
    assert.deepEqual(keys({ drills: [drill(1, 'failed', 1), drill(5, 'passed', 1)] }), ['high:drill_failed'], 'order of the records does not matter');
  });

  it("drills of a copy stand on their own: a later drill of the primary does not hide a copy's failure", () => {
    const drill = (h: number, status: AlertDrill['status'], repository?: string): AlertDrill => ({
      time: new Date(NOW.getTime() - h * HOUR).toISOString(),
      backup_id: 'backup_20260208_020000_full',
      status,
      rto_seconds: 1,
      target_seconds: 10,
      ...(repository ? { repository } : {}),
    });
    const c = find({ drills: [drill(3, 'failed', 'offsite'), drill(1, 'passed')] }, 'drill');
    assert.deepEqual(
      c.map((x) => [x.key, x.severity, x.rule]),
      [['drill_failed:offsite', 'high', 'drill_failed']],
    );
    assert.match(c[0]!.message, /^The restore drill of backup_20260208_020000_full from the copy offsite at .* failed\.$/);
    assert.match(c[0]!.fix, /prism drill --repo offsite/);
    assert.deepEqual(keys({ drills: [drill(3, 'failed', 'offsite'), drill(2, 'passed', 'offsite'), drill(1, 'failed')] }), ['high:drill_failed']);
  });

  it('several rules at once, each with a key, rule, message and fix', () => {
    const all = alertConditions(
      records({ backups: [bk(70), bk(3, 'failed'), bk(2, 'failed'), bk(1, 'failed')], storageUsedPercent: 91 }),
      SOP_ALERT_RULES,
      clock.now(),
    );
    assert.deepEqual(all.map((c) => `${c.severity}:${c.rule}`).sort(), [
      'critical:consecutive_failures',
      'critical:no_success_48h',
      'high:backup_failed',
      'high:storage_over_90',
    ]);
    for (const c of all) assert.ok(c.key && c.message && c.fix, JSON.stringify(c));
  });
});

describe('copies: lag and alerts', () => {
  const ago = (h: number) => new Date(NOW.getTime() - h * HOUR).toISOString();
  const b = (id: string, hoursAgo: number) => ({ id, at: ago(hoursAgo) });
  const DAYS = 24 * HOUR;
  const copy = (c: Partial<AlertCopy>): AlertCopy => ({ name: 'offsite', intervalMs: DAYS, wanted: [], latest: null, lastRun: null, verifyEvents: [], ...c });
  const copyKeys = (c: Partial<AlertCopy>) => keys({ copies: [copy(c)] });

  it("lag: the backups newer than the copy's newest, and how much older its newest is than the primary's", () => {
    const wanted = [b('d3', 24), b('d1', 72), b('d2', 48)];
    assert.deepEqual(copyLag(wanted, b('d3', 24)), { latest: b('d3', 24), primary_latest: b('d3', 24), backups: 0, seconds: 0, oldest_missing: null });
    assert.deepEqual(copyLag(wanted, b('d1', 72)), {
      latest: b('d1', 72),
      primary_latest: b('d3', 24),
      backups: 2,
      seconds: 48 * 3600,
      oldest_missing: b('d2', 48),
    });
    // a copy that holds none lacks them all; a copy newer than everything the primary keeps is not behind
    assert.deepEqual(copyLag(wanted, null), { latest: null, primary_latest: b('d3', 24), backups: 3, seconds: null, oldest_missing: b('d1', 72) });
    assert.deepEqual(copyLag([], b('x', 1)), { latest: b('x', 1), primary_latest: null, backups: 0, seconds: 0, oldest_missing: null });
  });

  it('behind: high once a backup it lacks has waited more than two intervals, not at two exactly', () => {
    const latest = b('d0', 96);
    assert.deepEqual(copyKeys({ wanted: [b('d0', 96), b('d1', 48)], latest }), [], 'waited two intervals exactly');
    const c = find({ copies: [copy({ wanted: [b('d0', 96), b('d1', 48.01), b('d2', 24)], latest })] }, 'copy');
    assert.deepEqual(
      c.map((x) => [x.key, x.severity, x.rule]),
      [['copy_behind:offsite', 'high', 'copy_behind']],
    );
    assert.match(
      c[0]!.message,
      /^The copy offsite is 2 backup\(s\) behind the primary: d1 has waited 48\.0 h for it, more than 2 × its interval of 24\.0 h; its newest backup: d0 /,
    );
    assert.deepEqual(c[0]!.details, { copy: 'offsite', behind_backups: 2, oldest_missing: 'd1', waited_hours: 48.01, interval_hours: 24, latest: 'd0' });
    // a copy that holds nothing yet is behind too; with no known interval nothing is said
    assert.deepEqual(copyKeys({ wanted: [b('d0', 60)] }), ['high:copy_behind']);
    assert.deepEqual(copyKeys({ wanted: [b('d0', 600)], intervalMs: null }), []);
    // the clock decides: the same records now, and an hour later
    assert.deepEqual(copyKeys({ wanted: [b('d0', 96), b('d1', 47.5)], latest }), []);
    const later = alertConditions(
      records({ copies: [copy({ wanted: [b('d0', 96), b('d1', 47.5)], latest })] }),
      SOP_ALERT_RULES,
      new Date(NOW.getTime() + HOUR),
    );
    assert.deepEqual(
      later.map((x) => x.key),
      ['copy_behind:offsite'],
    );
  });

  it('a failed last run is high with its error and the fix of its code; a later ok run clears it', () => {
    const error = { code: 'ERR_PRISM_STORE', message: 'the SSH connection to 127.0.0.1:1 was refused' };
    const c = alertConditions(
      records({ copies: [copy({ lastRun: { at: ago(1), status: 'failed', error } })] }),
      { ...SOP_ALERT_RULES, fixForCode: (code) => `fix of ${code}` },
      NOW,
    );
    assert.deepEqual(
      c.map((x) => [x.key, x.severity, x.rule, x.fix]),
      [['copy_failed:offsite', 'high', 'copy_failed', 'fix of ERR_PRISM_STORE']],
    );
    assert.equal(c[0]!.message, `The last copy to offsite at ${ago(1)} failed [ERR_PRISM_STORE]: the SSH connection to 127.0.0.1:1 was refused`);
    assert.deepEqual(copyKeys({ lastRun: { at: ago(1), status: 'ok', error: null } }), []);
  });

  it("a failed check of the copy stands until a later clean one, or until the copy no longer holds that backup; the primary's rules ignore it", () => {
    const ev = (h: number, event: string, backup: string): VerifyEvent => ({ time: ago(h), event, backup, repository: 'offsite', message: 'pack damaged' });
    const wanted = [b('d1', 30), b('d2', 6)];
    const c = find({ copies: [copy({ wanted, latest: b('d2', 6), verifyEvents: [ev(3, 'verify.failed', 'd1')] })] }, 'copy');
    assert.deepEqual(
      c.map((x) => [x.key, x.severity, x.rule]),
      [['copy_verify_failed:offsite', 'high', 'copy_verify_failed']],
    );
    assert.match(c[0]!.message, /^The copy offsite failed verification at .* \(d1\): pack damaged\.$/);
    assert.deepEqual(copyKeys({ wanted, latest: b('d2', 6), verifyEvents: [ev(3, 'verify.failed', 'd1'), ev(2, 'verify.ok', 'd1')] }), []);
    assert.deepEqual(copyKeys({ wanted: [b('d2', 6)], latest: b('d2', 6), verifyEvents: [ev(3, 'verify.failed', 'd1')] }), [], 'removed by its retention');
    const archive: VerifyEvent = { time: ago(2), event: 'verify.failed', archive: 'pg', repository: 'offsite', message: '1 record(s) damaged' };
    assert.deepEqual(copyKeys({ wanted, latest: b('d2', 6), verifyEvents: [archive] }), ['high:copy_verify_failed']);
  });
});
