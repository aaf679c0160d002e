import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Cron } from 'croner';
import { afterRotation, planRotation, type PackReadTimes } from './verify-rotation.js';

const DAY = 86_400_000;
const pack = (i: number) => i.toString(16).padStart(64, '0');

/** Runs the verify job at every time `cron` fires from `start` for `days`, with packs appearing as `packsAt(t)` says. */
function simulate(cron: string, periodDays: number, days: number, packsAt: (t: Date) => string[]) {
  const job = new Cron(cron);
  let state: Record<string, PackReadTimes> = {};
  const start = new Date('2026-02-01T00:00:00Z');
  const reads: Array<{ at: Date; read: string[]; share: number; overdue: number }> = [];
  const lastRead = new Map<string, number>();
  let worstGap = 0;
  for (let t = job.nextRun(start)!; t.getTime() < start.getTime() + days * DAY; t = job.nextRun(t)!) {
    const packs = packsAt(t);
    const plan = planRotation({ packs, state, now: t, periodDays, runs: job.nextRuns(packs.length + 1, t) });
    for (const p of plan.read) {
      const since = lastRead.get(p) ?? Date.parse(state[p]?.first_seen ?? t.toISOString());
      worstGap = Math.max(worstGap, t.getTime() - since);
      lastRead.set(p, t.getTime());
    }
    state = afterRotation(state, packs, plan.read, t);
    reads.push({ at: t, read: plan.read, share: plan.share, overdue: plan.overdue });
  }
  return { reads, state, worstGap, lastRead };
}

describe('verify rotation', () => {
  it('daily runs over 70 packs with a 7-day period: 10 packs a run, every pack read once a week', () => {
    const packs = Array.from({ length: 70 }, (_, i) => pack(i));
    const { reads, worstGap } = simulate('30 4 * * *', 7, 28, () => packs);
    assert.equal(reads.length, 28);
    assert.ok(
      reads.every((r) => r.read.length === 10 && r.share === 10),
      'each run reads exactly its share',
    );
    // each window of 7 consecutive runs reads every pack exactly once
    for (let w = 0; w + 7 <= reads.length; w += 7) {
      const seen = reads.slice(w, w + 7).flatMap((r) => r.read);
      assert.equal(new Set(seen).size, 70);
      assert.equal(seen.length, 70);
    }
    assert.ok(worstGap <= 7 * DAY, `no pack waits longer than the period (${worstGap / DAY} days)`);
  });

  it('packs added every day are still all read within the period, with little more than the share', () => {
    // 20 packs at the start, 3 more every day
    const start = Date.parse('2026-02-01T00:00:00Z');
    const packsAt = (t: Date) => Array.from({ length: 20 + 3 * Math.floor((t.getTime() - start) / DAY) }, (_, i) => pack(i));
    const { reads, worstGap, lastRead, state } = simulate('0 3 * * *', 7, 35, packsAt);
    assert.ok(worstGap <= 7 * DAY, `worst gap ${worstGap / DAY} days`);
    const end = reads.at(-1)!.at.getTime();
    for (const [p, t] of Object.entries(state)) {
      const last = lastRead.get(p) ?? Date.parse(t.first_seen);
      assert.ok(end - last < 7 * DAY, `pack ${p.slice(-4)} read within the period`);
    }
    for (const r of reads)
      assert.ok(r.read.length <= Math.max(r.share, r.overdue) && r.read.length <= r.share + 3, `a run reads about its share (${r.read.length} vs ${r.share})`);
  });

  it('a weekly schedule with a 7-day period reads everything each run; more runs than packs read one pack each', () => {
    const packs = Array.from({ length: 5 }, (_, i) => pack(i));
    const weekly = simulate('0 2 * * 0', 7, 21, () => packs);
    assert.ok(weekly.reads.every((r) => r.read.length === 5));
    const hourly = simulate('0 * * * *', 7, 2, () => packs);
    assert.ok(hourly.reads.every((r) => r.read.length === 1 && r.share === 1));
    assert.deepEqual(
      hourly.reads.slice(0, 5).map((r) => r.read[0]),
      packs,
      'least recently read first, then by name',
    );
  });

  it('no packs: nothing to read; packs gone from the repository leave the state', () => {
    const now = new Date('2026-02-01T04:30:00Z');
    const plan = planRotation({ packs: [], state: {}, now, periodDays: 7, runs: [new Date(now.getTime() + DAY)] });
    assert.deepEqual([plan.read, plan.share], [[], 0]);
    const state = afterRotation({ [pack(1)]: { first_seen: '2026-01-01T00:00:00.000Z', last_read: '2026-01-30T00:00:00.000Z' } }, [pack(2)], [pack(2)], now);
    assert.deepEqual(state, { [pack(2)]: { first_seen: now.toISOString(), last_read: now.toISOString() } });
  });
});
