import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyRetention, applyRetentionByHost, futureDated, type RetentionBackup, type RetentionPolicy } from './retention.js';

/** Sunday 2026-02-08, midday: the weekly full ran at 02:00 this morning, cleanup (04:00) is due. */
const NOW = new Date('2026-02-08T12:00:00Z');

/** SOP §4.1 defaults: 7 / 7 / 30 / 30 / 50, failed attempts kept 30 days. */
const SOP: RetentionPolicy = {
  full_backups_count: 7,
  full_backups_age_days: 7,
  incremental_backups_count: 30,
  incremental_backups_age_days: 30,
  max_total_backups: 50,
  failed_attempts_days: 30,
};

/** A policy with every rule switched off (counts 0, ages 0, no failed window); override what a test needs. */
function policy(p: Partial<RetentionPolicy>): RetentionPolicy {
  return {
    full_backups_count: 0,
    full_backups_age_days: 0,
    incremental_backups_count: 0,
    incremental_backups_age_days: 0,
    max_total_backups: 50,
    failed_attempts_days: 30,
    ...p,
  };
}

type Opts = Partial<Pick<RetentionBackup, 'status' | 'trigger'>> & { suffix?: string };

/** A backup started at `iso` (UTC), with its id in the real format `backup_YYYYMMDD_HHMMSS_<type>[_n]`. */
function bk(iso: string, type: RetentionBackup['type'], opts: Opts = {}): RetentionBackup {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?Z$/.exec(iso);
  assert.ok(m, `bad test timestamp ${iso}`);
  const id = `backup_${m[1]}${m[2]}${m[3]}_${m[4]}${m[5]}${m[6]}_${type}${opts.suffix ?? ''}`;
  return { id, type, status: opts.status ?? 'completed', trigger: opts.trigger ?? 'scheduled', started_at: iso };
}
const full = (iso: string, opts?: Opts) => bk(iso, 'full', opts);
const inc = (iso: string, opts?: Opts) => bk(iso, 'incremental', opts);

/** Weekly scheduled fulls (Sunday 02:00) and incrementals (Mon–Fri 03:00), from Sunday `from` through `NOW`. */
function sopSchedule(from = '2025-12-14'): RetentionBackup[] {
  const out: RetentionBackup[] = [];
  for (let d = new Date(`${from}T00:00:00Z`); d.getTime() <= NOW.getTime(); d = new Date(d.getTime() + 86_400_000)) {
    const day = d.toISOString().slice(0, 10);
    const dow = d.getUTCDay();
    if (dow === 0) out.push(full(`${day}T02:00:00Z`));
    else if (dow <= 5) out.push(inc(`${day}T03:00:00Z`));
  }
  return out;
}

function run(backups: readonly RetentionBackup[], p: RetentionPolicy, now: Date = NOW) {
  const decisions = applyRetention(backups, p, now);
  return {
    decisions,
    kept: decisions.filter((d) => d.keep).map((d) => d.id),
    removed: decisions.filter((d) => !d.keep).map((d) => d.id),
    byId: (id: string) => {
      const d = decisions.find((x) => x.id === id);
      assert.ok(d, `no decision for ${id}`);
      return d;
    },
  };
}

/** The decision's reasons match `patterns` one for one, in order (the deciding rule first). */
function assertReasons(reasons: readonly string[], patterns: readonly RegExp[], what: string): void {
  assert.equal(reasons.length, patterns.length, `${what}: reasons ${JSON.stringify(reasons)}`);
  patterns.forEach((p, i) => assert.match(reasons[i]!, p, `${what}: reason ${i} of ${JSON.stringify(reasons)}`));
}

describe('applyRetention: SOP default policy (7/7/30/30/50, failed 30)', () => {
  it('over 8 weeks of scheduled backups removes the 2 oldest fulls and the 10 oldest incrementals', () => {
    const backups = sopSchedule();
    assert.equal(backups.length, 49); // 9 Sundays, 40 weekdays
    const r = run(backups, SOP);
    assert.deepEqual(r.removed, [
      'backup_20251226_030000_incremental',
      'backup_20251225_030000_incremental',
      'backup_20251224_030000_incremental',
      'backup_20251223_030000_incremental',
      'backup_20251222_030000_incremental',
      'backup_20251221_020000_full',
      'backup_20251219_030000_incremental',
      'backup_20251218_030000_incremental',
      'backup_20251217_030000_incremental',
      'backup_20251216_030000_incremental',
      'backup_20251215_030000_incremental',
      'backup_20251214_020000_full',
    ]);
    assert.deepEqual(r.kept, [
      'backup_20260208_020000_full',
      'backup_20260206_030000_incremental',
      'backup_20260205_030000_incremental',
      'backup_20260204_030000_incremental',
      'backup_20260203_030000_incremental',
      'backup_20260202_030000_incremental',
      'backup_20260201_020000_full',
      'backup_20260130_030000_incremental',
      'backup_20260129_030000_incremental',
      'backup_20260128_030000_incremental',
      'backup_20260127_030000_incremental',
      'backup_20260126_030000_incremental',
      'backup_20260125_020000_full',
      'backup_20260123_030000_incremental',
      'backup_20260122_030000_incremental',
      'backup_20260121_030000_incremental',
      'backup_20260120_030000_incremental',
      'backup_20260119_030000_incremental',
      'backup_20260118_020000_full',
      'backup_20260116_030000_incremental',
      'backup_20260115_030000_incremental',
      'backup_20260114_030000_incremental',
      'backup_20260113_030000_incremental',
      'backup_20260112_030000_incremental',
      'backup_20260111_020000_full',
      'backup_20260109_030000_incremental',
      'backup_20260108_030000_incremental',
      'backup_20260107_030000_incremental',
      'backup_20260106_030000_incremental',
      'backup_20260105_030000_incremental',
      'backup_20260104_020000_full',
      'backup_20260102_030000_incremental',
      'backup_20260101_030000_incremental',
      'backup_20251231_030000_incremental',
      'backup_20251230_030000_incremental',
      'backup_20251229_030000_incremental',
      'backup_20251228_020000_full',
    ]);
  });

  it('gives each decision its rules, the deciding one first', () => {
    const r = run(sopSchedule(), SOP);
    // this morning's full: every rule that protects it
    assertReasons(r.byId('backup_20260208_020000_full').reasons, [/newest completed full/, /newest 7 full/, /younger than 7 days/], 'newest full');
    // 7.4 days old: only the count keeps it
    assertReasons(r.byId('backup_20260201_020000_full').reasons, [/newest 7 full/], "last week's full");
    assertReasons(r.byId('backup_20251228_020000_full').reasons, [/newest 7 full/], '7th full');
    assertReasons(r.byId('backup_20251221_020000_full').reasons, [/newest 7 full.*older than 7 days/], '8th full');
    // 27.4 days old: count and age; 30.4 days old: count alone
    assertReasons(r.byId('backup_20260112_030000_incremental').reasons, [/newest 30 incremental/, /younger than 30 days/], 'incremental 27 days old');
    assertReasons(r.byId('backup_20260109_030000_incremental').reasons, [/newest 30 incremental/], 'incremental 30.4 days old');
    assertReasons(r.byId('backup_20251226_030000_incremental').reasons, [/newest 30 incremental.*older than 30 days/], '31st incremental');
    for (const d of r.decisions) assert.doesNotMatch(d.reasons.join('; '), /max_total_backups/, d.id);
  });

  it('with real-life noise: old manual full kept, failed attempts by their window, running attempt kept, partial counted', () => {
    const backups = [
      ...sopSchedule().map((b) => (b.id === 'backup_20260121_030000_incremental' ? { ...b, status: 'partial' as const } : b)),
      full('2025-12-10T16:45:12Z', { trigger: 'manual' }), // before the schedule started, 60 days old
      full('2026-01-04T02:00:00Z', { status: 'failed', suffix: '_2' }), // a failed retry, 35.4 days old
      inc('2025-12-30T03:00:00Z', { status: 'failed', suffix: '_2' }), // 40.4 days old
      inc('2026-02-03T03:00:00Z', { status: 'failed', suffix: '_2' }), // 5.4 days old
      inc('2026-02-08T11:58:00Z', { status: 'running', trigger: 'manual' }), // in progress now
    ];
    const r = run(backups, SOP);
    assert.deepEqual(r.removed, [
      'backup_20260104_020000_full_2',
      'backup_20251230_030000_incremental_2',
      'backup_20251226_030000_incremental',
      'backup_20251225_030000_incremental',
      'backup_20251224_030000_incremental',
      'backup_20251223_030000_incremental',
      'backup_20251222_030000_incremental',
      'backup_20251221_020000_full',
      'backup_20251219_030000_incremental',
      'backup_20251218_030000_incremental',
      'backup_20251217_030000_incremental',
      'backup_20251216_030000_incremental',
      'backup_20251215_030000_incremental',
      'backup_20251214_020000_full',
    ]);
    assert.equal(r.kept.length, backups.length - 14);
    assert.deepEqual(r.kept.slice(0, 3), ['backup_20260208_115800_incremental', 'backup_20260208_020000_full', 'backup_20260206_030000_incremental']);
    assert.equal(r.kept.at(-1), 'backup_20251210_164512_full');
    assert.ok(r.kept.includes('backup_20260203_030000_incremental_2'));
    assert.ok(r.kept.includes('backup_20260121_030000_incremental'));
    // the partial incremental took one of the 30 slots: the 30th (Dec 29) is kept, Dec 26 is not
    assert.ok(r.kept.includes('backup_20251229_030000_incremental'));
    assertReasons(r.byId('backup_20251210_164512_full').reasons, [/manual/], 'old manual full');
    assertReasons(r.byId('backup_20260208_115800_incremental').reasons, [/running/], 'running');
    assertReasons(r.byId('backup_20260104_020000_full_2').reasons, [/failed attempt older than 30 days/], 'old failed full');
    assertReasons(r.byId('backup_20260203_030000_incremental_2').reasons, [/failed attempt within 30 days/], 'recent failed incremental');
  });
});

describe('applyRetention: count and age rules', () => {
  const twoWeeks = [
    full('2026-01-18T02:00:00Z'),
    full('2026-01-25T02:00:00Z'),
    inc('2026-01-26T03:00:00Z'),
    inc('2026-01-27T03:00:00Z'),
    inc('2026-01-28T03:00:00Z'),
    inc('2026-01-29T03:00:00Z'),
    inc('2026-01-30T03:00:00Z'),
    full('2026-02-01T02:00:00Z'),
    inc('2026-02-02T03:00:00Z'),
    inc('2026-02-03T03:00:00Z'),
    inc('2026-02-04T03:00:00Z'),
    inc('2026-02-05T03:00:00Z'),
    inc('2026-02-06T03:00:00Z'),
    full('2026-02-08T02:00:00Z'),
  ];

  it('count rule alone (ages 0): keeps exactly the newest N of each type', () => {
    const r = run(twoWeeks, policy({ full_backups_count: 2, incremental_backups_count: 3 }));
    assert.deepEqual(r.kept, [
      'backup_20260208_020000_full',
      'backup_20260206_030000_incremental',
      'backup_20260205_030000_incremental',
      'backup_20260204_030000_incremental',
      'backup_20260201_020000_full',
    ]);
    assert.deepEqual(r.removed, [
      'backup_20260203_030000_incremental',
      'backup_20260202_030000_incremental',
      'backup_20260130_030000_incremental',
      'backup_20260129_030000_incremental',
      'backup_20260128_030000_incremental',
      'backup_20260127_030000_incremental',
      'backup_20260126_030000_incremental',
      'backup_20260125_020000_full',
      'backup_20260118_020000_full',
    ]);
    assertReasons(r.byId('backup_20260201_020000_full').reasons, [/newest 2 full/], 'second full');
    assertReasons(r.byId('backup_20260125_020000_full').reasons, [/newest 2 full/], 'third full');
    assertReasons(r.byId('backup_20260204_030000_incremental').reasons, [/newest 3 incremental/], 'third incremental');
  });

  it('age rule alone (counts 0): keeps backups younger than the limit; exactly at the limit is not younger', () => {
    const backups = [
      ...twoWeeks,
      inc('2026-02-04T12:00:00Z', { suffix: '' }), // exactly 4 days old
      inc('2026-02-04T12:00:01Z'), // 1 s younger than 4 days
      full('2026-01-29T12:00:00Z', { trigger: 'scheduled' }), // exactly 10 days old
      full('2026-01-29T12:00:01Z'), // 1 s younger than 10 days
    ];
    const r = run(backups, policy({ full_backups_age_days: 10, incremental_backups_age_days: 4 }));
    assert.deepEqual(r.kept, [
      'backup_20260208_020000_full',
      'backup_20260206_030000_incremental',
      'backup_20260205_030000_incremental',
      'backup_20260204_120001_incremental',
      'backup_20260201_020000_full',
      'backup_20260129_120001_full',
    ]);
    assert.deepEqual(r.removed, [
      'backup_20260204_120000_incremental',
      'backup_20260204_030000_incremental',
      'backup_20260203_030000_incremental',
      'backup_20260202_030000_incremental',
      'backup_20260130_030000_incremental',
      'backup_20260129_120000_full',
      'backup_20260129_030000_incremental',
      'backup_20260128_030000_incremental',
      'backup_20260127_030000_incremental',
      'backup_20260126_030000_incremental',
      'backup_20260125_020000_full',
      'backup_20260118_020000_full',
    ]);
    assertReasons(r.byId('backup_20260201_020000_full').reasons, [/younger than 10 days/], 'full 7 days old');
    assertReasons(r.byId('backup_20260204_120001_incremental').reasons, [/younger than 4 days/], 'incremental just under 4 days');
    assertReasons(r.byId('backup_20260204_120000_incremental').reasons, [/older than 4 days/], 'incremental exactly 4 days');
    assertReasons(r.byId('backup_20260129_120000_full').reasons, [/older than 10 days/], 'full exactly 10 days');
  });

  it('counts and ages combine: a backup is kept when either rule keeps it', () => {
    const r = run(twoWeeks, policy({ full_backups_count: 1, full_backups_age_days: 8, incremental_backups_count: 1, incremental_backups_age_days: 5 }));
    assert.deepEqual(r.kept, [
      'backup_20260208_020000_full',
      'backup_20260206_030000_incremental',
      'backup_20260205_030000_incremental',
      'backup_20260204_030000_incremental',
      'backup_20260201_020000_full',
    ]);
    assert.deepEqual(r.removed, [
      'backup_20260203_030000_incremental',
      'backup_20260202_030000_incremental',
      'backup_20260130_030000_incremental',
      'backup_20260129_030000_incremental',
      'backup_20260128_030000_incremental',
      'backup_20260127_030000_incremental',
      'backup_20260126_030000_incremental',
      'backup_20260125_020000_full',
      'backup_20260118_020000_full',
    ]);
    assertReasons(r.byId('backup_20260206_030000_incremental').reasons, [/newest 1 incremental/, /younger than 5 days/], 'newest incremental');
    assertReasons(r.byId('backup_20260204_030000_incremental').reasons, [/younger than 5 days/], 'incremental 4.4 days old');
    assertReasons(r.byId('backup_20260203_030000_incremental').reasons, [/newest 1 incremental.*older than 5 days/], 'incremental 5.4 days old');
  });

  it('corrupted backups (and partial ones) are treated like completed ones for the counts', () => {
    const backups = [
      full('2026-01-18T02:00:00Z'),
      full('2026-01-25T02:00:00Z'),
      full('2026-02-01T02:00:00Z', { status: 'corrupted' }),
      full('2026-02-08T02:00:00Z'),
      inc('2026-02-04T03:00:00Z'),
      inc('2026-02-05T03:00:00Z', { status: 'corrupted' }),
      inc('2026-02-06T03:00:00Z', { status: 'partial' }),
    ];
    const r = run(backups, policy({ full_backups_count: 2, incremental_backups_count: 2 }));
    assert.deepEqual(r.kept, [
      'backup_20260208_020000_full',
      'backup_20260206_030000_incremental',
      'backup_20260205_030000_incremental',
      'backup_20260201_020000_full',
    ]);
    assert.deepEqual(r.removed, ['backup_20260204_030000_incremental', 'backup_20260125_020000_full', 'backup_20260118_020000_full']);
    assertReasons(r.byId('backup_20260201_020000_full').reasons, [/newest 2 full/], 'corrupted full');
    assertReasons(r.byId('backup_20260205_030000_incremental').reasons, [/newest 2 incremental/], 'corrupted incremental');
  });

  it('a newest corrupted full takes a count slot but not the newest-completed-full protection', () => {
    const backups = [full('2026-01-25T02:00:00Z'), full('2026-02-01T02:00:00Z'), full('2026-02-08T02:00:00Z', { status: 'corrupted' })];
    const r = run(backups, policy({ full_backups_count: 1 }));
    assert.deepEqual(r.kept, ['backup_20260208_020000_full', 'backup_20260201_020000_full']);
    assert.deepEqual(r.removed, ['backup_20260125_020000_full']);
    assertReasons(r.byId('backup_20260208_020000_full').reasons, [/newest 1 full/], 'corrupted newest');
    assertReasons(r.byId('backup_20260201_020000_full').reasons, [/newest completed full/], 'newest completed');
  });
});

describe('applyRetention: manual backups', () => {
  it('are never removed, even when old and beyond the counts', () => {
    const backups = [
      full('2025-11-02T09:15:00Z', { trigger: 'manual' }), // 98 days old
      full('2025-11-20T17:40:33Z', { trigger: 'manual', status: 'partial' }),
      inc('2026-01-05T15:30:00Z', { trigger: 'manual' }),
      full('2026-02-01T02:00:00Z'),
      full('2026-02-03T10:00:00Z', { trigger: 'manual' }),
      inc('2026-02-05T03:00:00Z'),
      inc('2026-02-06T03:00:00Z'),
      full('2026-02-08T02:00:00Z'),
    ];
    const r = run(backups, policy({ full_backups_count: 1, incremental_backups_count: 1 }));
    assert.deepEqual(r.kept, [
      'backup_20260208_020000_full',
      'backup_20260206_030000_incremental',
      'backup_20260203_100000_full',
      'backup_20260105_153000_incremental',
      'backup_20251120_174033_full',
      'backup_20251102_091500_full',
    ]);
    assert.deepEqual(r.removed, ['backup_20260205_030000_incremental', 'backup_20260201_020000_full']);
    for (const id of ['backup_20260203_100000_full', 'backup_20260105_153000_incremental', 'backup_20251120_174033_full', 'backup_20251102_091500_full']) {
      assertReasons(r.byId(id).reasons, [/manual/], id);
    }
  });

  it('manual comes first among the reasons when other rules also keep the backup', () => {
    const r = run([full('2026-02-08T09:00:00Z', { trigger: 'manual' })], SOP);
    assertReasons(r.decisions[0]!.reasons, [/manual/, /newest completed full/, /newest 7 full/, /younger than 7 days/], 'manual newest full');
  });

  it('are never removed with every rule at zero', () => {
    const backups = [full('2025-06-01T08:00:00Z', { trigger: 'manual' }), inc('2025-06-02T08:00:00Z', { trigger: 'manual', status: 'corrupted' })];
    const r = run(backups, policy({ max_total_backups: 0 }));
    assert.deepEqual(r.kept, ['backup_20250602_080000_incremental', 'backup_20250601_080000_full']);
    assert.deepEqual(r.removed, []);
  });
});

describe('applyRetention: the newest completed full backup', () => {
  it('is kept even with full count 0 and age 0', () => {
    const backups = [full('2026-01-25T02:00:00Z'), full('2026-02-01T02:00:00Z'), full('2026-02-08T02:00:00Z'), inc('2026-02-06T03:00:00Z')];
    const r = run(backups, policy({}));
    assert.deepEqual(r.kept, ['backup_20260208_020000_full']);
    assert.deepEqual(r.removed, ['backup_20260206_030000_incremental', 'backup_20260201_020000_full', 'backup_20260125_020000_full']);
    assertReasons(r.byId('backup_20260208_020000_full').reasons, [/newest completed full/], 'newest full');
  });

  it('a newer failed or partial full does not take that protection', () => {
    const backups = [
      full('2026-01-25T02:00:00Z'),
      full('2026-02-01T02:00:00Z'),
      full('2026-02-08T02:00:00Z', { status: 'failed' }),
      full('2026-02-08T09:30:00Z', { status: 'partial' }),
    ];
    const r = run(backups, policy({}));
    assert.deepEqual(r.kept, ['backup_20260208_020000_full', 'backup_20260201_020000_full']);
    assert.deepEqual(r.removed, ['backup_20260208_093000_full', 'backup_20260125_020000_full']);
    assertReasons(r.byId('backup_20260201_020000_full').reasons, [/newest completed full/], 'newest completed full');
    assertReasons(r.byId('backup_20260208_020000_full').reasons, [/failed attempt within 30 days/], 'failed full');
    assertReasons(r.byId('backup_20260208_093000_full').reasons, [/older than 0 days/], 'partial full');
  });

  it('is kept by the newest completed full, not by a newer incremental', () => {
    const backups = [full('2026-01-04T02:00:00Z'), inc('2026-02-06T03:00:00Z')];
    const r = run(backups, policy({ incremental_backups_count: 1 }));
    assert.deepEqual(r.kept, ['backup_20260206_030000_incremental', 'backup_20260104_020000_full']);
    assert.deepEqual(r.removed, []);
  });
});

describe('applyRetention: max_total_backups', () => {
  it('removes the oldest unprotected backups first and skips manual ones', () => {
    const backups = [
      full('2026-01-20T14:00:00Z', { trigger: 'manual' }),
      full('2026-01-25T02:00:00Z'),
      full('2026-02-01T02:00:00Z'),
      inc('2026-02-02T03:00:00Z'),
      inc('2026-02-03T03:00:00Z'),
      inc('2026-02-04T03:00:00Z'),
      inc('2026-02-05T03:00:00Z'),
      inc('2026-02-06T03:00:00Z'),
      full('2026-02-08T02:00:00Z'),
    ];
    // incrementals younger than 3 days: the newest only (backups of the age window are never the cap's victims)
    const r = run(backups, { ...SOP, incremental_backups_age_days: 3, max_total_backups: 5 });
    assert.deepEqual(r.kept, [
      'backup_20260208_020000_full',
      'backup_20260206_030000_incremental',
      'backup_20260205_030000_incremental',
      'backup_20260204_030000_incremental',
      'backup_20260120_140000_full',
    ]);
    assert.deepEqual(r.removed, [
      'backup_20260203_030000_incremental',
      'backup_20260202_030000_incremental',
      'backup_20260201_020000_full',
      'backup_20260125_020000_full',
    ]);
    for (const id of r.removed) {
      const { reasons } = r.byId(id);
      assert.match(reasons[0]!, /max_total_backups \(5\)/, id);
      assert.ok(reasons.length > 1 && reasons.slice(1).every((x) => /^\(also /.test(x)), `${id}: ${JSON.stringify(reasons)}`);
    }
    assert.deepEqual(r.byId('backup_20260201_020000_full').reasons.slice(1), ['(also one of the newest 7 full backups)']);
  });

  it('skips the newest completed full even when it is the oldest; failed and running attempts do not count', () => {
    const backups = [
      full('2026-01-25T02:00:00Z'),
      full('2026-02-01T02:00:00Z', { status: 'partial' }),
      inc('2026-02-02T03:00:00Z'),
      inc('2026-02-03T03:00:00Z', { status: 'corrupted' }),
      inc('2026-02-04T03:00:00Z'),
      inc('2026-02-05T03:00:00Z'),
      inc('2026-02-06T03:00:00Z'),
      inc('2026-02-07T03:00:00Z', { status: 'failed', trigger: 'manual' }),
      full('2026-02-08T11:50:00Z', { status: 'running' }),
    ];
    const r = run(backups, { ...SOP, incremental_backups_age_days: 0, max_total_backups: 3 });
    assert.deepEqual(r.kept, [
      'backup_20260208_115000_full',
      'backup_20260207_030000_incremental',
      'backup_20260206_030000_incremental',
      'backup_20260205_030000_incremental',
      'backup_20260125_020000_full',
    ]);
    assert.deepEqual(r.removed, [
      'backup_20260204_030000_incremental',
      'backup_20260203_030000_incremental',
      'backup_20260202_030000_incremental',
      'backup_20260201_020000_full',
    ]);
    assertReasons(r.byId('backup_20260125_020000_full').reasons, [/newest completed full/, /newest 7 full/], 'newest completed full');
  });

  it('does not count backups already removed by the count and age rules', () => {
    // 49 scheduled backups, 37 kept by the SOP counts: a cap of 37 removes nothing more, 36 removes the oldest kept one
    const schedule = sopSchedule();
    assert.deepEqual(run(schedule, { ...SOP, max_total_backups: 37 }).removed.length, 12);
    const r = run(schedule, { ...SOP, max_total_backups: 36 });
    assert.deepEqual(r.removed.length, 13);
    assert.deepEqual(r.removed.slice(0, 1), ['backup_20251228_020000_full']);
    assert.match(r.byId('backup_20251228_020000_full').reasons[0]!, /max_total_backups \(36\)/);
  });

  it('keeps the protected backups (manual, newest completed full, younger than their age limit) even when they alone exceed the cap', () => {
    const backups = [
      full('2025-12-01T10:00:00Z', { trigger: 'manual' }),
      inc('2025-12-02T10:00:00Z', { trigger: 'manual' }),
      full('2026-02-01T02:00:00Z'),
      inc('2026-02-06T03:00:00Z'),
      full('2026-02-08T02:00:00Z'),
    ];
    const r = run(backups, { ...SOP, max_total_backups: 1 });
    assert.deepEqual(r.kept, [
      'backup_20260208_020000_full',
      'backup_20260206_030000_incremental',
      'backup_20251202_100000_incremental',
      'backup_20251201_100000_full',
    ]);
    assert.deepEqual(r.removed, ['backup_20260201_020000_full']);
    assertReasons(
      r.byId('backup_20260206_030000_incremental').reasons,
      [/newest 30 incremental/, /younger than 30 days \(kept whatever the counts and the total cap say\)/],
      'young',
    );
  });

  it('never removes a backup younger than its age limit: the cap takes the oldest of those only a count keeps', () => {
    // 10 incrementals of the last 10 days (age limit 30), 3 fulls of which only the newest is younger than 7 days
    const backups = [
      full('2026-01-18T02:00:00Z'),
      full('2026-01-25T02:00:00Z'),
      full('2026-02-08T02:00:00Z'),
      ...['01-29', '01-30', '01-31', '02-01', '02-02', '02-03', '02-04', '02-05', '02-06', '02-07'].map((d) => inc(`2026-${d}T03:00:00Z`)),
    ];
    const r = run(backups, { ...SOP, max_total_backups: 4 });
    assert.deepEqual(r.removed, ['backup_20260125_020000_full', 'backup_20260118_020000_full']);
    assert.equal(r.kept.length, 11, 'over the cap: the rest is within its age limit');
    for (const id of r.removed) assert.match(r.byId(id).reasons[0]!, /max_total_backups \(4\)/);
  });
});

describe('applyRetention: manifests added by whoever can write into the repository', () => {
  const HOUR = 3_600_000;
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
  /** Genuine SOP backups younger than their age limit (7 days for fulls, 30 for incrementals). */
  const young = (b: RetentionBackup) => NOW.getTime() - Date.parse(b.started_at) < (b.type === 'full' ? 7 : 30) * 86_400_000;

  it('backups dated in the future are neither counted nor removed, and change no decision about the genuine ones', () => {
    const genuine = sopSchedule();
    const fakes = [
      ...Array.from({ length: 10 }, (_, i) => full(iso(NOW.getTime() + (i + 1) * 86_400_000))),
      ...Array.from({ length: 40 }, (_, i) => inc(iso(NOW.getTime() + 400 * 86_400_000 + i * HOUR))),
      full('2099-12-31T23:59:59Z', { trigger: 'manual' }),
      inc('2031-01-01T00:00:00Z', { status: 'failed' }),
    ];
    const alone = run(genuine, SOP);
    const r = run([...fakes, ...genuine], SOP);
    for (const b of genuine) assert.deepEqual(r.byId(b.id), alone.byId(b.id), b.id);
    for (const b of fakes) {
      assert.equal(r.byId(b.id).keep, true, b.id);
      assertReasons(r.byId(b.id).reasons, [/^dated in the future \(started \d{4}-.*\): not counted, not deleted$/], b.id);
    }
    // the newest completed full is still the genuine one of this morning
    assert.match(r.byId('backup_20260208_020000_full').reasons[0]!, /newest completed full/);
    assert.deepEqual(
      futureDated([...genuine, ...fakes], NOW).map((b) => b.id),
      [...fakes].sort((a, b) => Date.parse(b.started_at) - Date.parse(a.started_at)).map((b) => b.id),
    );
  });

  it('up to 1 hour ahead of now is clock skew (counted as usual); later, a finish in the future or a start that is no date is set aside', () => {
    const skewed = full(iso(NOW.getTime() + HOUR));
    const ahead = full(iso(NOW.getTime() + HOUR + 1000));
    const finishesAhead = { ...full('2026-02-08T10:00:00Z'), finished_at: iso(NOW.getTime() + HOUR + 1000) };
    const noDate = { ...full('2026-02-07T02:00:00Z', { suffix: '_2' }), started_at: 'yesterday' };
    const genuine = full('2026-02-07T02:00:00Z');
    const r = run([skewed, ahead, finishesAhead, noDate, genuine], policy({ full_backups_count: 1 }));
    assert.deepEqual(r.removed, [genuine.id]);
    assertReasons(r.byId(skewed.id).reasons, [/newest completed full/, /newest 1 full/], '1 hour ahead');
    for (const b of [ahead, finishesAhead, noDate]) assertReasons(r.byId(b.id).reasons, [/^dated in the future/], b.id);
    assert.match(r.byId(finishesAhead.id).reasons[0]!, /finished 2026-02-08T13:00:01Z/);
    assert.deepEqual(
      futureDated([skewed, ahead, finishesAhead, noDate, genuine], NOW).map((b) => b.id),
      [ahead.id, finishesAhead.id, noDate.id],
    );
  });

  it('a flood of fake recent manifests removes no genuine backup younger than its age limit (older ones have only the counts)', () => {
    const genuine = sopSchedule();
    // 100 fulls and 100 incrementals "made" half an hour ago: every count slot and the newest-full protection go to them
    const flood = Array.from({ length: 100 }, (_, i) => [
      full('2026-02-08T11:30:00Z', { suffix: `_${i + 2}` }),
      inc('2026-02-08T11:30:00Z', { suffix: `_${i + 2}` }),
    ]).flat();
    const r = run([...genuine, ...flood], SOP);
    for (const b of genuine.filter(young)) {
      assert.equal(r.byId(b.id).keep, true, b.id);
      assert.ok(
        r.byId(b.id).reasons.some((x) => /^younger than (7|30) days/.test(x)),
        `${b.id}: ${JSON.stringify(r.byId(b.id).reasons)}`,
      );
    }
    // the limit: genuine backups older than their age limit were kept by the counts alone, and the flood took those
    assert.deepEqual(
      r.removed,
      genuine
        .filter((b) => !young(b))
        .map((b) => b.id)
        .reverse(),
    );
    assert.equal(genuine.filter(young).length, 21); // this morning's full and 20 incrementals of the last 30 days
    for (const d of r.decisions) assert.doesNotMatch(d.reasons[0]!, /max_total_backups/, d.id);
  });

  it('max_total_backups cannot be made to remove a genuine backup younger than its age limit, nor count future-dated ones', () => {
    const genuine = sopSchedule();
    const counts = { ...SOP, full_backups_count: 100, incremental_backups_count: 100 };
    // 60 fake recent incrementals: the cap (50) takes the genuine backups only a count keeps, never a young one
    const recent = Array.from({ length: 60 }, (_, i) => inc(iso(NOW.getTime() - (i + 1) * 60_000)));
    const r = run([...genuine, ...recent], counts);
    for (const b of genuine.filter(young)) assert.equal(r.byId(b.id).keep, true, b.id);
    assert.deepEqual(
      r.removed,
      genuine
        .filter((b) => !young(b))
        .map((b) => b.id)
        .reverse(),
    );
    for (const id of r.removed) assert.match(r.byId(id).reasons[0]!, /max_total_backups \(50\)/, id);
    // 60 future-dated ones: not counted towards the cap at all, so the 49 genuine backups stay within it
    const future = Array.from({ length: 60 }, (_, i) => inc(iso(NOW.getTime() + (i + 2) * HOUR)));
    const f = run([...genuine, ...future], { ...counts, max_total_backups: 49 });
    assert.deepEqual(f.removed, []);
  });
});

describe('applyRetention: ties on started_at', () => {
  const a = full('2026-02-01T02:00:00.000Z');
  const b = full('2026-02-01T02:00:00.000Z', { suffix: '_2' });
  const older = full('2026-01-25T02:00:00Z');

  it('are decided by id (the `_2` one is the newer), whatever the input order', () => {
    const p = policy({ full_backups_count: 1 });
    const r1 = run([a, b, older], p);
    const r2 = run([b, older, a], p);
    const r3 = run([older, a, b], p);
    assert.deepEqual(r1.kept, ['backup_20260201_020000_full_2']);
    assert.deepEqual(r1.removed, ['backup_20260201_020000_full', 'backup_20260125_020000_full']);
    assert.deepEqual(r2.decisions, r1.decisions);
    assert.deepEqual(r3.decisions, r1.decisions);
  });

  it('decide the newest completed full and the max_total_backups victim too', () => {
    const p = policy({ max_total_backups: 1, full_backups_count: 5 });
    const incs = [inc('2026-02-02T03:00:00Z'), inc('2026-02-02T03:00:00Z', { suffix: '_2' })];
    for (const input of [[a, b, ...incs], [...incs].reverse().concat([b, a])]) {
      const r = run(input, p);
      assert.deepEqual(r.kept, ['backup_20260201_020000_full_2']);
      assert.deepEqual(r.removed, ['backup_20260202_030000_incremental_2', 'backup_20260202_030000_incremental', 'backup_20260201_020000_full']);
      assertReasons(r.byId('backup_20260201_020000_full_2').reasons, [/newest completed full/, /newest 5 full/], 'tie winner');
    }
  });
});

describe('applyRetention: failed and running attempts', () => {
  it('keeps failed attempts within the window (exactly at the limit included) and removes older ones', () => {
    const backups = [
      inc('2025-12-01T03:00:00Z', { status: 'failed' }),
      full('2026-01-09T11:59:59Z', { status: 'failed' }), // 30 days + 1 s
      full('2026-01-09T12:00:00Z', { status: 'failed', suffix: '_2' }), // exactly 30 days
      inc('2026-01-09T12:00:01Z', { status: 'failed' }), // 30 days - 1 s
      inc('2026-02-07T03:00:00Z', { status: 'failed' }),
    ];
    const r = run(backups, policy({ failed_attempts_days: 30, max_total_backups: 0 }));
    assert.deepEqual(r.kept, ['backup_20260207_030000_incremental', 'backup_20260109_120001_incremental', 'backup_20260109_120000_full_2']);
    assert.deepEqual(r.removed, ['backup_20260109_115959_full', 'backup_20251201_030000_incremental']);
    assertReasons(r.byId('backup_20260109_120000_full_2').reasons, [/failed attempt within 30 days/], 'exactly 30 days');
    assertReasons(r.byId('backup_20260109_115959_full').reasons, [/failed attempt older than 30 days/], '30 days + 1 s');
  });

  it('failed attempts take no count slot', () => {
    const backups = [
      full('2026-02-01T02:00:00Z'),
      full('2026-02-08T02:00:00Z', { status: 'failed' }),
      inc('2026-02-05T03:00:00Z'),
      inc('2026-02-06T03:00:00Z', { status: 'failed' }),
    ];
    const r = run(backups, policy({ full_backups_count: 1, incremental_backups_count: 1 }));
    assert.deepEqual(r.kept, [
      'backup_20260208_020000_full',
      'backup_20260206_030000_incremental',
      'backup_20260205_030000_incremental',
      'backup_20260201_020000_full',
    ]);
    assertReasons(r.byId('backup_20260201_020000_full').reasons, [/newest completed full/, /newest 1 full/], 'completed full');
    assertReasons(r.byId('backup_20260205_030000_incremental').reasons, [/newest 1 incremental/], 'completed incremental');
  });

  it('never touches running attempts, however old, and they take no count slot', () => {
    const backups = [
      inc('2025-10-01T03:00:00Z', { status: 'running' }),
      full('2026-01-25T02:00:00Z'),
      full('2026-02-01T02:00:00Z'),
      full('2026-02-08T11:50:00Z', { status: 'running', trigger: 'manual' }),
    ];
    const r = run(backups, policy({ full_backups_count: 1, failed_attempts_days: 0, max_total_backups: 0 }));
    assert.deepEqual(r.kept, ['backup_20260208_115000_full', 'backup_20260201_020000_full', 'backup_20251001_030000_incremental']);
    assert.deepEqual(r.removed, ['backup_20260125_020000_full']);
    assertReasons(r.byId('backup_20251001_030000_incremental').reasons, [/running/], 'stale running');
    assertReasons(r.byId('backup_20260208_115000_full').reasons, [/running/], 'running now');
    assertReasons(r.byId('backup_20260201_020000_full').reasons, [/newest completed full/, /newest 1 full/], 'completed full');
  });
});

describe('applyRetention: output', () => {
  it('an empty list gives no decisions', () => {
    assert.deepEqual(applyRetention([], SOP, NOW), []);
  });

  it('one decision per input backup, newest first, independent of the input order; the input is not modified', () => {
    const schedule = [
      ...sopSchedule(),
      full('2025-12-10T16:45:12Z', { trigger: 'manual' }),
      inc('2026-02-03T03:00:00Z', { status: 'failed', suffix: '_2' }),
      inc('2026-02-08T11:58:00Z', { status: 'running' }),
    ];
    // a deterministic shuffle: odd positions reversed, then even positions
    const shuffled = [...schedule.filter((_, i) => i % 2 === 1).reverse(), ...schedule.filter((_, i) => i % 2 === 0)];
    const frozen = Object.freeze(shuffled.map((b) => Object.freeze({ ...b })));
    const snapshot = JSON.stringify(frozen);
    const fromSorted = applyRetention(schedule, SOP, NOW);
    const fromShuffled = applyRetention(frozen, SOP, NOW);
    assert.equal(JSON.stringify(frozen), snapshot);
    assert.deepEqual(fromShuffled, fromSorted);
    assert.equal(fromShuffled.length, schedule.length);
    assert.equal(new Set(fromShuffled.map((d) => d.id)).size, schedule.length);
    assert.deepEqual(
      fromShuffled.map((d) => d.id),
      // newest first; the one tie (both 2026-02-03 03:00) puts the `_2` id first, as the tie tests below pin it
      [...schedule].sort((x, y) => Date.parse(y.started_at) - Date.parse(x.started_at) || (x.id.endsWith('_2') ? -1 : 1)).map((b) => b.id),
    );
    assert.deepEqual(
      fromShuffled.slice(5, 7).map((d) => d.id),
      ['backup_20260203_030000_incremental_2', 'backup_20260203_030000_incremental'],
    );
    assert.deepEqual(
      fromShuffled.slice(0, 3).map((d) => d.id),
      ['backup_20260208_115800_incremental', 'backup_20260208_020000_full', 'backup_20260206_030000_incremental'],
    );
    for (const d of fromShuffled) {
      assert.deepEqual(Object.keys(d).sort(), ['id', 'keep', 'reasons']);
      assert.ok(d.reasons.length >= 1, d.id);
    }
  });

  it('depends on time only through `now` (age boundary moves with it)', () => {
    const backups = [full('2026-01-25T02:00:00Z'), full('2026-01-30T02:00:00Z')];
    const p = policy({ full_backups_age_days: 7 });
    assert.deepEqual(run(backups, p, new Date('2026-01-30T12:00:00Z')).removed, []);
    assert.deepEqual(run(backups, p, new Date('2026-02-01T01:59:59Z')).removed, []); // 7 days - 1 s
    assert.deepEqual(run(backups, p, new Date('2026-02-01T02:00:00Z')).removed, ['backup_20260125_020000_full']); // exactly 7 days
    assert.deepEqual(run(backups, p, NOW).removed, ['backup_20260125_020000_full']);
    assert.deepEqual(applyRetention(backups, p, new Date('2026-02-01T02:00:00Z')), applyRetention(backups, p, new Date('2026-02-01T02:00:00Z')));
  });
});

describe('applyRetentionByHost', () => {
  it('keeps each host by the policy on its own: a busy host never expires a quiet one', () => {
    const p = policy({ full_backups_count: 2 });
    const busy = ['2026-02-01T02:00:00Z', '2026-02-02T02:00:00Z', '2026-02-03T02:00:00Z', '2026-02-04T02:00:00Z'].map((t) => ({ ...full(t), host: 'gw-busy' }));
    const quiet = [{ ...full('2026-01-10T02:00:00Z', { suffix: '_q' }), host: 'gw-quiet' }];
    const decisions = new Map(applyRetentionByHost([...busy, ...quiet], p, NOW).map((d) => [d.id, d.keep]));
    assert.equal(decisions.get(quiet[0]!.id), true, 'the quiet host keeps its only full backup');
    assert.deepEqual(
      busy.map((b) => decisions.get(b.id)),
      [false, false, true, true],
    );
    // the same backups as one host: the quiet one's old full would go
    const asOne = new Map(applyRetention([...busy, ...quiet], p, NOW).map((d) => [d.id, d.keep]));
    assert.equal(asOne.get(quiet[0]!.id), false);
  });
});
