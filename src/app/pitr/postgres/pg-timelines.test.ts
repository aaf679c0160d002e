import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BaseRecord, WalRecord } from './pg-records.js';
import {
  archiveTimelines,
  baseOnLineage,
  latestTimeline,
  lineageOf,
  parseHistory,
  segmentOnLineage,
  segmentsOnLineage,
  timelineAt,
  timelineOfLsn,
  timelineOfXid,
} from './pg-timelines.js';

const SEG = 16 << 20;
const wal = (name: string, at: string): WalRecord => ({ format: 1, name, size: 0, sha256: '', content: [], archived_at: at });
const base = (id: string, timeline: number, stop: string, finished: string): BaseRecord => ({
  format: 1,
  id,
  started_at: finished,
  finished_at: finished,
  server: { version: '15', system_identifier: '1', wal_segment_size: SEG },
  timeline,
  start_lsn: stop,
  stop_lsn: stop,
  start_wal: `0000000${timeline}0000000000000002`,
  stop_wal: `0000000${timeline}0000000000000002`,
  size: 0,
  sha256: '',
  content: [],
  label: '',
});
const ms = (t: string) => Date.parse(`2026-12-01T${t}Z`);

describe('PostgreSQL timelines of an archive', () => {
  // timeline 1 archives until 10:30; at 10:10 a restored copy (to a point at 0/4000100) begins timeline 2 and archives until 10:20;
  // at 11:00 a restore of timeline 2 (from 0/6000200) begins timeline 3
  const files = [
    wal('000000010000000000000002', '2026-12-01T09:00:00Z'),
    wal('000000010000000000000004', '2026-12-01T09:30:00Z'),
    wal('000000010000000000000005', '2026-12-01T10:30:00Z'),
    wal('00000002.history', '2026-12-01T10:10:00Z'),
    wal('000000020000000000000004', '2026-12-01T10:15:00Z'),
    wal('000000020000000000000006', '2026-12-01T10:20:00Z'),
    wal('00000003.history', '2026-12-01T11:00:00Z'),
  ];
  const histories = new Map([
    [2, '1\t0/4000100\tbefore 2026-12-01 09:59:00+00\n'],
    [3, '# comment\n1\t0/4000100\tbefore 2026-12-01 09:59:00+00\n\n2\t0/6000200\tno recovery target specified\n'],
  ]);
  const tls = archiveTimelines(files, histories, [base('pgbase_1', 1, '0/2000100', '2026-12-01T09:00:00Z')]);

  it('reads history files: parents and switch points', () => {
    assert.deepEqual(parseHistory(histories.get(3)!), [
      { tli: 1, switchLsn: 0x4000100n },
      { tli: 2, switchLsn: 0x6000200n },
    ]);
    assert.deepEqual([...tls.keys()].sort(), [1, 2, 3]);
    assert.equal(latestTimeline(tls), 3);
    assert.deepEqual(tls.get(2)?.began, ms('10:10:00'));
    assert.deepEqual(tls.get(1)?.lastArchived, ms('10:30:00'));
  });

  it('the timeline live at a time: begun by then, and the one archiving then', () => {
    assert.deepEqual(timelineAt(tls, ms('10:05:00')), { tli: 1 }, 'before timeline 2 began');
    const both = timelineAt(tls, ms('10:12:00'));
    assert.equal(both.tli, 2);
    assert.match(both.warning ?? '', /Timelines 1, 2 were all archiving at the target time.*--target-timeline/);
    assert.deepEqual(timelineAt(tls, ms('10:25:00')), { tli: 1 }, 'timeline 1 still archiving, timeline 2 done');
    assert.deepEqual(timelineAt(tls, ms('10:45:00')), { tli: 2 }, 'nothing archiving: the newest begun');
    assert.deepEqual(timelineAt(tls, ms('12:00:00')), { tli: 3 });
  });

  it('base backups and WAL segments on a line of descent', () => {
    const line3 = lineageOf(tls, 3);
    assert.deepEqual(
      line3.map((l) => l.tli),
      [1, 2, 3],
    );
    assert.equal(baseOnLineage(base('x', 1, '0/4000000', ''), line3), true);
    assert.equal(baseOnLineage(base('x', 1, '0/5000000', ''), line3), false, 'ended after timeline 2 left timeline 1');
    assert.equal(baseOnLineage(base('x', 2, '0/5000000', ''), lineageOf(tls, 1)), false);
    assert.equal(segmentOnLineage(line3, 0x3000000n, SEG), '000000010000000000000003');
    assert.equal(segmentOnLineage(line3, 0x4000200n, SEG), '000000020000000000000004', 'the segment of the switch: the new timeline');
    assert.equal(segmentOnLineage(line3, 0x7000000n, SEG), '000000030000000000000007');
    assert.deepEqual(
      segmentsOnLineage(files, lineageOf(tls, 2), '000000010000000000000002', SEG).map((w) => w.name),
      ['000000010000000000000002', '000000020000000000000004', '000000020000000000000006'],
    );
    assert.deepEqual(
      segmentsOnLineage(files, lineageOf(tls, 1), '000000010000000000000003', SEG).map((w) => w.name),
      ['000000010000000000000004', '000000010000000000000005'],
    );
  });

  it('the timeline of an LSN while timeline 1 still archives beside timeline 2: below a switch point the parent; past it, ambiguous', () => {
    assert.deepEqual(timelineOfLsn(tls, files, '0/3000000', SEG), { tli: 1, unambiguous: true, candidates: [1] });
    assert.deepEqual(timelineOfLsn(tls, files, '0/40000FF', SEG), { tli: 1, unambiguous: true, candidates: [1] }, 'just below the switch: shared, the parent');
    const atSwitch = timelineOfLsn(tls, files, '0/4000100', SEG);
    assert.deepEqual([atSwitch.tli, atSwitch.unambiguous, atSwitch.candidates], [2, false, [1, 2]]);
    assert.match(
      atSwitch.warning ?? '',
      /^LSN 0\/4000100 may be on timelines 1, 2 \(each has archived its segment.*recovery follows 2, the newest\. For another, pass --target-timeline N\.$/,
    );
    // segment 6: only timeline 2 archived it, but timeline 1 archived after timeline 2 began (at 10:30): it may hold it, unarchived
    const six = timelineOfLsn(tls, files, '0/6000100', SEG);
    assert.deepEqual([six.tli, six.unambiguous, six.candidates], [2, false, [1, 2]]);
    assert.match(six.warning ?? '', /is on timeline 2, the only one that has archived its segment; timeline 1 went on archiving after 2 began/);
    const seven = timelineOfLsn(tls, files, '0/7000000', SEG);
    assert.deepEqual([seven.tli, seven.candidates], [3, [1, 2, 3]]);
    assert.match(seven.warning ?? '', /none of them has archived its segment yet/);
  });

  it('the timeline of an LSN after a crash and a restore (timeline 1 silent since before timeline 2 began); of a transaction', () => {
    // timeline 1 archives segments 1 to 5 until 09:30 and is lost; restored to 0/3000100, timeline 2 archives from 10:00 to segment 8
    const crash = [
      ...[1, 2, 3, 4, 5].map((n) => wal(`00000001000000000000000${n}`, '2026-12-01T09:30:00Z')),
      wal('00000002.history', '2026-12-01T10:00:00Z'),
      ...[3, 4, 5, 6, 7, 8].map((n) => wal(`00000002000000000000000${n}`, '2026-12-01T12:00:00Z')),
    ];
    const b1 = { ...base('pgbase_1', 1, '0/2000100', '2026-12-01T09:00:00Z'), next_xid: '1000' };
    const b2 = { ...base('pgbase_2', 2, '0/5000000', '2026-12-01T11:00:00Z'), next_xid: '2000' };
    const t = archiveTimelines(crash, new Map([[2, '1\t0/3000100\tbefore 2026-12-01 09:20:00+00\n']]), [b1, b2]);
    assert.deepEqual(timelineOfLsn(t, crash, '0/2000000', SEG), { tli: 1, unambiguous: true, candidates: [1] });
    assert.deepEqual(timelineOfLsn(t, crash, '0/7000000', SEG), { tli: 2, unambiguous: true, candidates: [2] }, 'timeline 1 fell silent before 2 began');
    const both = timelineOfLsn(t, crash, '0/4000000', SEG);
    assert.deepEqual([both.tli, both.unambiguous, both.candidates], [2, false, [1, 2]], 'both archived segment 4, on either side of the fork');

    // transaction 900 was used before base backup 1 ended, which is before timeline 2 left timeline 1: timeline 1's
    assert.deepEqual(timelineOfXid(t, [b1, b2], '900'), { tli: 1, unambiguous: true, candidates: [1] });
    const later = timelineOfXid(t, [b1, b2], '1500');
    assert.deepEqual([later.tli, later.unambiguous, later.candidates], [2, false, [1, 2]]);
    assert.match(later.warning ?? '', /^Transaction 1500 may be on timelines 1, 2 \(transaction ids go on from the same counter/);
    // an epoch-qualified next id: the 32-bit id is read in its epoch
    const epoch = { ...b1, next_xid: String((1n << 32n) + 1000n) };
    assert.equal(timelineOfXid(t, [epoch, b2], '900').tli, 1);
    assert.equal(timelineOfXid(t, [epoch, b2], String((1n << 32n) + 1500n)).unambiguous, false);
    // without recorded next ids nothing is known
    const unknown = timelineOfXid(t, [base('pgbase_1', 1, '0/2000100', ''), b2], '900');
    assert.deepEqual([unknown.tli, unknown.unambiguous], [2, false]);
    // a single timeline: no question
    const one = archiveTimelines(crash.slice(0, 5), new Map(), [b1]);
    assert.deepEqual(timelineOfXid(one, [b1], '5000'), { tli: 1, unambiguous: true, candidates: [1] });
  });
});
