import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BaseRecord, WalRecord } from './pg-records.js';
import { archiveTimelines, baseOnLineage, latestTimeline, lineageOf, parseHistory, segmentOnLineage, segmentsOnLineage, timelineAt } from './pg-timelines.js';

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
});
