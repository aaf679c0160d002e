import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrismError } from '../errors/index.js';
import { parseDate } from './parse-date.js';

// A fixed local "now": Tuesday 2026-02-10 14:30:00.
const NOW = new Date(2026, 1, 10, 14, 30, 0, 0);
const DAY = 86_400_000;

async function expectInvalid(text: string, flag = '--since'): Promise<void> {
  await assert.rejects(
    async () => parseDate(flag, text, NOW, 'start'),
    (e: unknown) => {
      assert.ok(e instanceof PrismError, `expected a PrismError for ${JSON.stringify(text)}`);
      assert.equal(e.code, 'INVALID_ARGUMENT');
      assert.equal(e.exitCode, 2);
      assert.ok(e.message.includes(flag), `message names the flag: ${e.message}`);
      assert.ok(e.message.includes(`"${text}"`), `message quotes the value: ${e.message}`);
      assert.equal(e.details.flag, flag);
      assert.equal(e.details.value, text);
      return true;
    },
  );
}

describe('parseDate', () => {
  it('"now" is the given instant, whatever the edge and case', async () => {
    for (const edge of ['start', 'end'] as const) {
      for (const text of ['now', 'NOW', '  Now  ']) {
        assert.equal((await parseDate('--until', text, NOW, edge)).getTime(), NOW.getTime());
      }
    }
  });

  it('"N <unit>s ago" counts back from now', async () => {
    const cases: Array<[string, number]> = [
      ['7 days ago', NOW.getTime() - 7 * DAY],
      ['1 day ago', NOW.getTime() - DAY],
      ['30 seconds ago', NOW.getTime() - 30_000],
      ['5 minutes ago', NOW.getTime() - 300_000],
      ['3 hours ago', NOW.getTime() - 3 * 3_600_000],
      ['2 weeks ago', NOW.getTime() - 14 * DAY],
      ['7 Days Ago', NOW.getTime() - 7 * DAY],
      ['10days ago', NOW.getTime() - 10 * DAY],
    ];
    for (const [text, want] of cases) {
      for (const edge of ['start', 'end'] as const) {
        assert.equal((await parseDate('--since', text, NOW, edge)).getTime(), want, `${text} (${edge})`);
      }
    }
  });

  it('months and years ago move the calendar', async () => {
    assert.deepEqual(await parseDate('--since', '1 month ago', NOW, 'start'), new Date(2026, 0, 10, 14, 30));
    assert.deepEqual(await parseDate('--since', '2 years ago', NOW, 'start'), new Date(2024, 1, 10, 14, 30));
  });

  it('does not modify the given now', async () => {
    const now = new Date(NOW);
    await parseDate('--since', '7 days ago', now, 'start');
    await parseDate('--since', 'yesterday', now, 'start');
    await parseDate('--since', '1 month ago', now, 'end');
    assert.equal(now.getTime(), NOW.getTime());
  });

  it('"yesterday" and "today" span whole days', async () => {
    assert.deepEqual(await parseDate('--since', 'yesterday', NOW, 'start'), new Date(2026, 1, 9, 0, 0, 0, 0));
    assert.deepEqual(await parseDate('--until', 'yesterday', NOW, 'end'), new Date(2026, 1, 9, 23, 59, 59, 999));
    assert.deepEqual(await parseDate('--since', 'today', NOW, 'start'), new Date(2026, 1, 10, 0, 0, 0, 0));
    assert.deepEqual(await parseDate('--until', 'Today', NOW, 'end'), new Date(2026, 1, 10, 23, 59, 59, 999));
  });

  it('"yesterday" crosses month and year boundaries', async () => {
    const jan1 = new Date(2026, 0, 1, 8, 0);
    assert.deepEqual(await parseDate('--since', 'yesterday', jan1, 'start'), new Date(2025, 11, 31, 0, 0, 0, 0));
  });

  it('a bare date is its start or its end', async () => {
    assert.deepEqual(await parseDate('--since', '2026-02-07', NOW, 'start'), new Date(2026, 1, 7, 0, 0, 0, 0));
    assert.deepEqual(await parseDate('--until', '2026-02-07', NOW, 'end'), new Date(2026, 1, 7, 23, 59, 59, 999));
    assert.deepEqual(await parseDate('--since', '2024-02-29', NOW, 'start'), new Date(2024, 1, 29, 0, 0, 0, 0));
  });

  it('a date with a time is that minute (or second), whatever the edge', async () => {
    for (const edge of ['start', 'end'] as const) {
      assert.deepEqual(await parseDate('--since', '2026-02-07 03:00', NOW, edge), new Date(2026, 1, 7, 3, 0, 0, 0));
      assert.deepEqual(await parseDate('--since', '2026-02-07 03:00:15', NOW, edge), new Date(2026, 1, 7, 3, 0, 15, 0));
      assert.deepEqual(await parseDate('--since', '2026-02-07T23:59', NOW, edge), new Date(2026, 1, 7, 23, 59, 0, 0));
    }
  });

  it('rejects text that is not a date, naming the flag', async () => {
    await expectInvalid('banana');
    await expectInvalid('2026-13-45');
    await expectInvalid('2026-02-30');
    await expectInvalid('2025-02-29');
    await expectInvalid('2026-02-07 25:00');
    await expectInvalid('2026-02-07 24:00');
    await expectInvalid('2026-02-07 12:60');
    await expectInvalid('7 days ago please');
    await expectInvalid('');
    await expectInvalid('   ');
    await expectInvalid('banana', '--until');
  });
});
