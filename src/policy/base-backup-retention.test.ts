import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideBaseBackups, decideBaseBackupsByGroup, type DatedBaseBackup } from './base-backup-retention.js';

const NOW = new Date('2026-12-10T12:00:00Z');
const DAY = 86_400_000;
const at = (daysAgo: number) => new Date(NOW.getTime() - daysAgo * DAY).toISOString();
const base = (id: string, daysAgo: number, server = 'shop'): DatedBaseBackup & { server: string } => ({ id, finished_at: at(daysAgo), server });

describe('decideBaseBackups: count and age, on the clock given', () => {
  it('keeps the newest N and every one younger than the age; the rest go with the rule that removed them', () => {
    const bases = [base('b1', 20), base('b2', 13), base('b3', 6.5), base('b4', 3), base('b5', 0.1)];
    const d = decideBaseBackups(bases, { base_backups_count: 2, base_backups_age_days: 7 }, NOW);
    assert.deepEqual(
      d.map((x) => [x.id, x.keep, x.reasons]),
      [
        ['b5', true, ['one of the newest 2 base backups', 'younger than 7 days']],
        ['b4', true, ['one of the newest 2 base backups', 'younger than 7 days']],
        ['b3', true, ['younger than 7 days']],
        ['b2', false, ['beyond the newest 2 base backups and older than 7 days']],
        ['b1', false, ['beyond the newest 2 base backups and older than 7 days']],
      ],
    );
  });

  it('the same backups a week later: the clock alone expires what aged out', () => {
    const bases = [base('b1', 20), base('b2', 13), base('b3', 6.5), base('b4', 3), base('b5', 0.1)];
    const later = new Date(NOW.getTime() + 7 * DAY);
    assert.deepEqual(
      decideBaseBackups(bases, { base_backups_count: 2, base_backups_age_days: 7 }, later).map((x) => [x.id, x.keep]),
      [
        ['b5', true],
        ['b4', true],
        ['b3', false],
        ['b2', false],
        ['b1', false],
      ],
    );
    // exactly age_days old is no longer younger than age_days
    assert.deepEqual(
      decideBaseBackups([base('x', 7), base('y', 0)], { base_backups_count: 1, base_backups_age_days: 7 }, NOW).map((x) => [x.id, x.keep]),
      [
        ['y', true],
        ['x', false],
      ],
    );
  });

  it('age 0 keeps by count only; a count below 1 still keeps the newest; none in, none out', () => {
    const bases = [base('b1', 2), base('b2', 1), base('b3', 0)];
    assert.deepEqual(
      decideBaseBackups(bases, { base_backups_count: 2, base_backups_age_days: 0 }, NOW).map((x) => x.keep),
      [true, true, false],
    );
    assert.deepEqual(
      decideBaseBackups(bases, { base_backups_count: 0, base_backups_age_days: 0 }, NOW).map((x) => [x.id, x.keep]),
      [
        ['b3', true],
        ['b2', false],
        ['b1', false],
      ],
    );
    assert.deepEqual(decideBaseBackups([], { base_backups_count: 3, base_backups_age_days: 3 }, NOW), []);
  });

  it('backups finished in the same millisecond are ordered by id, whatever order they come in', () => {
    const same = [base('mysqlbase_20261210_120000', 1), base('mysqlbase_20261210_120000_2', 1)];
    for (const order of [same, [...same].reverse()])
      assert.deepEqual(
        decideBaseBackups(order, { base_backups_count: 1, base_backups_age_days: 0 }, NOW).map((x) => [x.id, x.keep]),
        [
          ['mysqlbase_20261210_120000_2', true],
          ['mysqlbase_20261210_120000', false],
        ],
      );
  });
});

describe('decideBaseBackupsByGroup: each server counted apart', () => {
  it("a busy server's newer backups never expire another server's last one", () => {
    const bases = [base('old-crm', 30, 'crm'), base('s1', 4), base('s2', 3), base('s3', 2), base('s4', 1)];
    const d = decideBaseBackupsByGroup(bases, (b) => b.server, { base_backups_count: 2, base_backups_age_days: 0 }, NOW);
    assert.deepEqual(
      d.map((x) => [x.id, x.group, x.keep]),
      [
        ['s4', 'shop', true],
        ['s3', 'shop', true],
        ['s2', 'shop', false],
        ['s1', 'shop', false],
        ['old-crm', 'crm', true],
      ],
      'newest first overall',
    );
    assert.deepEqual(d.find((x) => x.id === 'old-crm')!.reasons, ['one of the newest 2 base backups of crm']);
    assert.deepEqual(d.find((x) => x.id === 's2')!.reasons, ['beyond the newest 2 base backups and older than 0 days of shop']);
  });

  it('one group: the reasons of decideBaseBackups, unchanged', () => {
    const bases = [base('a', 9), base('b', 1)];
    const policy = { base_backups_count: 1, base_backups_age_days: 7 };
    assert.deepEqual(
      decideBaseBackupsByGroup(bases, (b) => b.server, policy, NOW).map(({ group: _, ...x }) => x),
      decideBaseBackups(bases, policy, NOW),
    );
  });
});
