import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planPitrExpiry, type PitrBaseBackup, type PitrRetentionPolicy } from './pitr-retention.js';

const NOW = new Date('2026-12-10T12:00:00Z');
const DAY = 86_400_000;
const POLICY: PitrRetentionPolicy = { base_backups_count: 2, base_backups_age_days: 0 };

/** A WAL segment name: timeline, then the segment number (16 MiB segments: log id and segment). */
const seg = (tl: number, n: number) => `${tl.toString(16).toUpperCase().padStart(8, '0')}${'0'.repeat(8)}${n.toString(16).toUpperCase().padStart(8, '0')}`;
/** Segments `from` … `to` of a timeline. */
const segs = (tl: number, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => seg(tl, from + i));
/** A base backup that finished `daysAgo` days before NOW, starting in segment `start` of `tl`. */
const base = (id: string, daysAgo: number, tl: number, start: number): PitrBaseBackup => ({
  id,
  finished_at: new Date(NOW.getTime() - daysAgo * DAY).toISOString(),
  start_wal: seg(tl, start),
});

describe('planPitrExpiry: base backup retention and WAL expiry', () => {
  it('keeps the newest base backups and the WAL from the oldest kept one’s start segment on (that segment included)', () => {
    const bases = [base('pgbase_a', 9, 1, 3), base('pgbase_b', 6, 1, 0x10), base('pgbase_c', 3, 1, 0x1f)];
    const wal = segs(1, 1, 0x25);
    const p = planPitrExpiry(bases, wal, POLICY, NOW);
    assert.deepEqual(
      p.base_backups.map((d) => [d.id, d.keep]),
      [
        ['pgbase_c', true],
        ['pgbase_b', true],
        ['pgbase_a', false],
      ],
    );
    assert.match(p.base_backups[2]!.reasons[0]!, /beyond the newest 2 base backups and older than 0 days/);
    assert.deepEqual(p.oldest_kept, { id: 'pgbase_b', start_wal: seg(1, 0x10) });
    assert.deepEqual(p.expire_wal, segs(1, 1, 0x0f), 'everything before the boundary segment, nothing from it on');
    assert.equal(p.keep_wal, wal.length - 0x0f);
    assert.deepEqual(p.warnings, []);
  });

  it('keeps every base backup younger than age_days, beyond the count', () => {
    const bases = [base('pgbase_a', 12, 1, 1), base('pgbase_b', 6.9, 1, 4), base('pgbase_c', 1, 1, 8)];
    const p = planPitrExpiry(bases, segs(1, 1, 9), { base_backups_count: 1, base_backups_age_days: 7 }, NOW);
    assert.deepEqual(
      p.base_backups.map((d) => [d.id, d.keep, d.reasons]),
      [
        ['pgbase_c', true, ['one of the newest 1 base backups', 'younger than 7 days']],
        ['pgbase_b', true, ['younger than 7 days']],
        ['pgbase_a', false, ['beyond the newest 1 base backups and older than 7 days']],
      ],
    );
    assert.deepEqual(p.expire_wal, segs(1, 1, 3));
    // exactly 7 days old is no longer younger than 7 days
    const edge = planPitrExpiry([base('pgbase_x', 7, 1, 2), base('pgbase_y', 0, 1, 5)], [], { base_backups_count: 1, base_backups_age_days: 7 }, NOW);
    assert.deepEqual(
      edge.base_backups.map((d) => d.keep),
      [true, false],
    );
  });

  it('never expires the newest base backup, even with count 0 and age 0', () => {
    const p = planPitrExpiry([base('pgbase_a', 30, 1, 2), base('pgbase_b', 20, 1, 6)], segs(1, 1, 7), { base_backups_count: 0, base_backups_age_days: 0 }, NOW);
    assert.deepEqual(
      p.base_backups.map((d) => [d.id, d.keep]),
      [
        ['pgbase_b', true],
        ['pgbase_a', false],
      ],
    );
    assert.deepEqual(p.expire_wal, segs(1, 1, 5));
  });

  it('with no base backup at all expires nothing and warns', () => {
    const wal = [...segs(1, 1, 5), '00000002.history'];
    const p = planPitrExpiry([], wal, POLICY, NOW);
    assert.deepEqual(p.expire_wal, []);
    assert.equal(p.keep_wal, wal.length);
    assert.equal(p.oldest_kept, null);
    assert.equal(p.warnings.length, 1);
    assert.match(p.warnings[0]!, /no base backup.*not expired.*prism pg basebackup/);
    // and an empty archive has nothing to say
    assert.deepEqual(planPitrExpiry([], [], POLICY, NOW), { base_backups: [], oldest_kept: null, expire_wal: [], keep_wal: 0, warnings: [] });
  });

  it('keeps history files, and expires partial segments and backup history files by their segment', () => {
    const bases = [base('pgbase_old', 9, 1, 2), base('pgbase_new', 1, 2, 8)];
    const wal = [
      ...segs(1, 1, 7),
      `${seg(1, 2)}.00000028.backup`,
      `${seg(1, 6)}.partial`,
      '00000002.history',
      ...segs(2, 6, 10),
      `${seg(2, 8)}.00000060.backup`,
    ];
    const p = planPitrExpiry(bases, wal, { base_backups_count: 1, base_backups_age_days: 0 }, NOW);
    assert.deepEqual(p.oldest_kept, { id: 'pgbase_new', start_wal: seg(2, 8) });
    // before segment 8, on either timeline, goes; the history file and everything from segment 8 on stay
    assert.deepEqual(p.expire_wal, [...segs(1, 1, 7), `${seg(1, 2)}.00000028.backup`, `${seg(1, 6)}.partial`, seg(2, 6), seg(2, 7)].sort());
    assert.equal(p.keep_wal, 5); // history, TL2 segments 8–10, the new base backup's .backup file
  });

  it('timelines: the boundary is the smallest start segment of the kept base backups, whatever their timeline', () => {
    // a base backup on timeline 2 (after a point-in-time recovery forked at segment 6) and a newer one on a
    // second branch, timeline 3, forked from timeline 1 at segment 4 and taken at segment 5
    const bases = [base('pgbase_tl1', 20, 1, 2), base('pgbase_tl2', 5, 2, 9), base('pgbase_tl3', 1, 3, 5)];
    const wal = [...segs(1, 1, 12), '00000002.history', ...segs(2, 6, 12), '00000003.history', ...segs(3, 4, 8)];
    const p = planPitrExpiry(bases, wal, POLICY, NOW);
    assert.deepEqual(
      p.base_backups.map((d) => [d.id, d.keep]),
      [
        ['pgbase_tl3', true],
        ['pgbase_tl2', true],
        ['pgbase_tl1', false],
      ],
    );
    assert.deepEqual(p.oldest_kept, { id: 'pgbase_tl3', start_wal: seg(3, 5) });
    // every segment from number 5 on is kept on every timeline: timeline 2's segments 9… (pgbase_tl2) and
    // timeline 3's 5… (pgbase_tl3) among them; only segments numbered below 5 go
    assert.deepEqual(p.expire_wal, [...segs(1, 1, 4), seg(3, 4)].sort());
    for (const needed of [...segs(2, 9, 12), ...segs(3, 5, 8), '00000002.history', '00000003.history']) assert.ok(!p.expire_wal.includes(needed), needed);
  });

  it('segment numbers past a log id boundary compare as numbers (…000000FF < …0100000000)', () => {
    const hi = '000000010000000100000000';
    const p = planPitrExpiry(
      [base('pgbase_a', 1, 1, 0), { id: 'pgbase_b', finished_at: NOW.toISOString(), start_wal: hi }],
      ['0000000100000000000000FE', '0000000100000000000000FF', hi, '000000010000000100000001'],
      { base_backups_count: 1, base_backups_age_days: 0 },
      NOW,
    );
    assert.deepEqual(p.expire_wal, ['0000000100000000000000FE', '0000000100000000000000FF']);
  });

  it('a kept base backup with an unusable start segment expires nothing, and says so', () => {
    const p = planPitrExpiry(
      [base('pgbase_a', 9, 1, 1), { id: 'pgbase_b', finished_at: NOW.toISOString(), start_wal: 'garbage' }],
      segs(1, 1, 4),
      { base_backups_count: 1, base_backups_age_days: 0 },
      NOW,
    );
    assert.deepEqual(
      p.base_backups.map((d) => d.keep),
      [true, true],
    );
    assert.deepEqual(p.expire_wal, []);
    assert.match(p.warnings[0]!, /pgbase_b.*not a segment name.*nothing .* is expired/);
  });
});
