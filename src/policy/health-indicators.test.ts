import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FixedClock } from '../core/clock.js';
import { healthIndicators, SOP_HEALTH, type HealthInput } from './health-indicators.js';

const clock = new FixedClock(new Date('2026-02-08T12:00:00Z'));
const hoursAgo = (h: number) => new Date(clock.now().getTime() - h * 3_600_000).toISOString();
const input = (i: Partial<HealthInput>): HealthInput => ({
  lastSuccessAt: hoursAgo(1),
  lastSuccessId: 'backup_20260208_110000_full',
  attempts: 100,
  failures: 0,
  failureRate: 0,
  storageUsedPercent: 40,
  ...i,
});
const ok = (i: Partial<HealthInput>) => Object.fromEntries(healthIndicators(input(i), SOP_HEALTH, clock.now()).map((x) => [x.name, x.ok]));

describe('SOP §5.1 health indicators', () => {
  it('all three hold on a healthy history', () => {
    assert.deepEqual(ok({}), { recent_success: true, failure_rate: true, storage: true });
  });

  it('a successful backup within 24 h: 24 h exactly is within, a second more is not, none is not', () => {
    assert.equal(ok({ lastSuccessAt: hoursAgo(24) }).recent_success, true);
    assert.equal(ok({ lastSuccessAt: hoursAgo(24 + 1 / 3600) }).recent_success, false);
    assert.equal(ok({ lastSuccessAt: null, lastSuccessId: null }).recent_success, false);
    const [r] = healthIndicators(input({ lastSuccessAt: hoursAgo(30) }), SOP_HEALTH, clock.now());
    assert.match(r!.message, /30\.0 h ago \(backup_20260208_110000_full\); more than 24 h/);
  });

  it('failure rate under 1 %: 0.99 % is, 1 % is not', () => {
    assert.equal(ok({ failures: 99, attempts: 10000, failureRate: 0.0099 }).failure_rate, true);
    assert.equal(ok({ failures: 1, attempts: 100, failureRate: 0.01 }).failure_rate, false);
    assert.equal(ok({ failures: 0, attempts: 0, failureRate: 0 }).failure_rate, true);
    const f = healthIndicators(input({ failures: 2, attempts: 50, failureRate: 0.04 }), SOP_HEALTH, clock.now())[1]!;
    assert.equal(f.value, 4);
    assert.match(f.message, /2 of 50 attempts failed in 30 days \(4\.0%; not under 1%\)/);
  });

  it('storage under 80 %: 79.9 is, 80 is not, unknown is not', () => {
    assert.equal(ok({ storageUsedPercent: 79.9 }).storage, true);
    assert.equal(ok({ storageUsedPercent: 80 }).storage, false);
    assert.equal(ok({ storageUsedPercent: null }).storage, false);
  });
});
