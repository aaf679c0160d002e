import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planBinlogExpiry, type ArchivedBinlogFile, type KeptBinlogStart } from './binlog-retention.js';

const T0 = Date.parse('2026-12-01T00:00:00Z');
const HOUR = 3_600_000;
/** File `<base>.<n>` of `db`, whose last event is n hours after T0. */
const file = (db: string, base: string, n: number): ArchivedBinlogFile => ({
  database: db,
  name: `${base}.${String(n).padStart(6, '0')}`,
  last_event_at: new Date(T0 + n * HOUR).toISOString(),
});
const files = (db: string, base: string, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => file(db, base, from + i));
/** A kept backup of `db` dumped at hour `h`, its position in `<base>.<n>`. */
const start = (db: string, backup: string, base: string, n: number, h: number): KeptBinlogStart => ({
  database: db,
  backup,
  file: `${base}.${String(n).padStart(6, '0')}`,
  dumped_at: new Date(T0 + h * HOUR).toISOString(),
});

describe('planBinlogExpiry: which archived binary log files no kept backup can replay', () => {
  it('expires the files before the oldest kept position; the file holding it and later ones stay', () => {
    const p = planBinlogExpiry(files('shop', 'mysql-bin', 1, 9), [start('shop', 'b2', 'mysql-bin', 6, 5.5), start('shop', 'b1', 'mysql-bin', 4, 3.5)]);
    assert.deepEqual(p.warnings, []);
    assert.deepEqual(p.databases, [
      {
        database: 'shop',
        oldest_kept_backup: 'b1',
        first_kept_file: 'mysql-bin.000004',
        kept: 6,
        expired: ['mysql-bin.000001', 'mysql-bin.000002', 'mysql-bin.000003'],
      },
    ]);
  });

  it('orders by number, not by name, past a width change (.999999 → .1000000)', () => {
    const names = [
      { database: 'a', name: 'b.1000000', last_event_at: new Date(T0).toISOString() },
      { database: 'a', name: 'b.999999', last_event_at: new Date(T0).toISOString() },
      { database: 'a', name: 'b.999998', last_event_at: new Date(T0).toISOString() },
    ];
    const p = planBinlogExpiry(names, [{ database: 'a', backup: 'x', file: 'b.999999', dumped_at: new Date(T0).toISOString() }]);
    assert.deepEqual(p.databases[0]!.expired, ['b.999998']);
    assert.equal(p.databases[0]!.kept, 2);
  });

  it('keeps everything of a database no kept backup has a position for, and says so', () => {
    const p = planBinlogExpiry([...files('shop', 'mysql-bin', 1, 3), ...files('crm', 'mysql-bin', 1, 4)], [start('crm', 'b1', 'mysql-bin', 3, 2.5)]);
    assert.deepEqual(
      p.databases.map((d) => [d.database, d.kept, d.expired]),
      [
        ['crm', 2, ['mysql-bin.000001', 'mysql-bin.000002']],
        ['shop', 3, []],
      ],
    );
    assert.equal(p.warnings.length, 1);
    assert.match(p.warnings[0]!, /No kept backup of shop records a binary log position.*3 archived/);
  });

  it('a series no kept position is in loses only the files whose last event predates every kept dump', () => {
    // the server was renamed from old-bin to new-bin at hour 5; the kept dump is at hour 6.5 in new-bin.000002
    const old = files('shop', 'old-bin', 1, 8); // last events at hours 1 … 8
    const p = planBinlogExpiry([...old, ...files('shop', 'new-bin', 1, 3)], [start('shop', 'b1', 'new-bin', 2, 6.5)]);
    assert.deepEqual(p.databases[0]!.expired, [
      'new-bin.000001',
      'old-bin.000001',
      'old-bin.000002',
      'old-bin.000003',
      'old-bin.000004',
      'old-bin.000005',
      'old-bin.000006',
    ]);
    assert.equal(p.databases[0]!.first_kept_file, 'new-bin.000002');
  });

  it('nothing archived: nothing to plan', () => {
    assert.deepEqual(planBinlogExpiry([], [start('shop', 'b1', 'mysql-bin', 1, 1)]), { databases: [], warnings: [] });
  });
});
