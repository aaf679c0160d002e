import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FixedClock } from '../core/clock.js';
import {
  DEFAULT_INHIBIT,
  groupByReceiver,
  inhibitedBy,
  keyMatches,
  parseDurationMinutes,
  routeAlerts,
  type AlertRoute,
  type DueNotification,
  type RoutedAlert,
  type RoutingInput,
  type Silence,
} from './alert-routing.js';

const MIN = 60_000;
const T0 = new Date('2026-03-01T02:00:00Z');

const CHAIN: AlertRoute[] = [
  {
    match: { severity: ['critical'] },
    steps: [
      { receiver: 'tech-lead', after_minutes: 0 },
      { receiver: 'project-manager', after_minutes: 15 },
    ],
  },
];

function alert(over: Partial<RoutedAlert> = {}): RoutedAlert {
  return {
    key: 'consecutive_failures',
    severity: 'critical',
    rule: 'consecutive_failures',
    state: 'active',
    escalation_since: T0.toISOString(),
    episode_told: [],
    told: [],
    notified_at: null,
    acknowledged: null,
    waiting: [],
    ...over,
  };
}

/** Evaluates every minute from T0 to `minutes`, delivering whatever is due (each delivery succeeds); returns the deliveries with their minute. */
function run(
  a: RoutedAlert,
  minutes: number,
  opts: { routes?: AlertRoute[]; silences?: Silence[]; at?: Record<number, (a: RoutedAlert) => RoutedAlert>; repeatMinutes?: number } = {},
): Array<{ minute: number } & DueNotification> {
  const clock = new FixedClock(T0);
  const sent: Array<{ minute: number } & DueNotification> = [];
  let cur = a;
  for (let minute = 0; minute <= minutes; minute++) {
    cur = opts.at?.[minute]?.(cur) ?? cur;
    const input: RoutingInput = {
      alerts: [cur],
      routes: opts.routes ?? CHAIN,
      receivers: ['tech-lead', 'project-manager', 'status-channel'],
      repeatMinutes: opts.repeatMinutes ?? 240,
      silences: opts.silences ?? [],
      inhibit: [],
      now: clock.now(),
    };
    const [d] = routeAlerts(input);
    for (const n of d!.due) {
      sent.push({ minute, ...n });
      if (n.kind !== 'resolved') {
        cur = {
          ...cur,
          episode_told: [...new Set([...cur.episode_told, n.receiver])],
          told: [...new Set([...cur.told, n.receiver])],
          notified_at: clock.now().toISOString(),
        };
      } else cur = { ...cur, told: cur.told.filter((r) => r !== n.receiver) };
    }
    clock.advance(MIN);
  }
  return sent;
}

describe('routeAlerts: escalation on a fake clock', () => {
  it('tells the tech lead at minute 0 and the project manager at minute 15', () => {
    const sent = run(alert(), 30);
    assert.deepEqual(
      sent.map((s) => [s.minute, s.receiver, s.kind]),
      [
        [0, 'tech-lead', 'raised'],
        [15, 'project-manager', 'raised'],
      ],
    );
  });

  it('does not tell the project manager when acknowledged at minute 10; the resolution goes to the tech lead only', () => {
    const ack = { at: new Date(T0.getTime() + 10 * MIN).toISOString(), comment: 'on it', by: 'ops' };
    const sent = run(alert(), 40, { at: { 10: (a) => ({ ...a, acknowledged: ack }), 30: (a) => ({ ...a, state: 'resolved' }) } });
    assert.deepEqual(
      sent.map((s) => [s.minute, s.receiver, s.kind]),
      [
        [0, 'tech-lead', 'raised'],
        [30, 'tech-lead', 'resolved'],
      ],
    );
  });

  it('sends the resolution to both who were told, once', () => {
    const sent = run(alert(), 40, { at: { 20: (a) => ({ ...a, state: 'resolved' }) } });
    assert.deepEqual(
      sent.map((s) => [s.minute, s.receiver, s.kind]),
      [
        [0, 'tech-lead', 'raised'],
        [15, 'project-manager', 'raised'],
        [20, 'tech-lead', 'resolved'],
        [20, 'project-manager', 'resolved'],
      ],
    );
  });

  it('reminds everyone told every repeat_minutes, also after an acknowledgement (no further escalation)', () => {
    const routes: AlertRoute[] = [{ ...CHAIN[0]!, repeat_minutes: 20 }];
    const ack = { at: T0.toISOString(), comment: null, by: null };
    const sent = run(alert(), 45, { routes, at: { 5: (a) => ({ ...a, acknowledged: ack }) } });
    assert.deepEqual(
      sent.map((s) => [s.minute, s.receiver, s.kind]),
      [
        [0, 'tech-lead', 'raised'],
        [20, 'tech-lead', 'repeat'],
        [40, 'tech-lead', 'repeat'],
      ],
    );
  });

  it("without routes every receiver is told at once and reminded at the repeat interval (today's behaviour)", () => {
    const sent = run(alert({ severity: 'medium' }), 130, { routes: [], repeatMinutes: 60 });
    assert.deepEqual(
      sent.map((s) => [s.minute, s.receiver, s.kind]),
      [
        [0, 'tech-lead', 'raised'],
        [0, 'project-manager', 'raised'],
        [0, 'status-channel', 'raised'],
        [60, 'tech-lead', 'repeat'],
        [60, 'project-manager', 'repeat'],
        [60, 'status-channel', 'repeat'],
        [120, 'tech-lead', 'repeat'],
        [120, 'project-manager', 'repeat'],
        [120, 'status-channel', 'repeat'],
      ],
    );
  });

  it('the first matching route wins; an alert no route matches goes to every receiver at once', () => {
    const routes: AlertRoute[] = [
      { match: { key: 'copy_*' }, steps: [{ receiver: 'status-channel', after_minutes: 5 }] },
      ...CHAIN,
      { match: { key: 'copy_failed:*' }, steps: [{ receiver: 'tech-lead', after_minutes: 0 }] },
    ];
    assert.deepEqual(
      run(alert({ key: 'copy_failed:offsite', severity: 'critical' }), 10, { routes }).map((s) => [s.minute, s.receiver]),
      [[5, 'status-channel']],
    );
    assert.deepEqual(
      run(alert({ key: 'storage', severity: 'high' }), 1, { routes }).map((s) => s.receiver),
      ['tech-lead', 'project-manager', 'status-channel'],
    );
  });

  it('a receiver whose delivery is still waiting is not due again, and the next step time is reported', () => {
    const [d] = routeAlerts({
      alerts: [alert({ waiting: ['tech-lead'] })],
      routes: CHAIN,
      receivers: [],
      repeatMinutes: 240,
      silences: [],
      inhibit: [],
      now: new Date(T0.getTime() + 5 * MIN),
    });
    assert.deepEqual(d!.due, []);
    assert.equal(d!.next_step_at, new Date(T0.getTime() + 15 * MIN).toISOString());
  });
});

describe('routeAlerts: silences', () => {
  const silence = (fromMin: number, toMin: number, match = 'consecutive_*'): Silence => ({
    id: 's1',
    match,
    starts_at: new Date(T0.getTime() + fromMin * MIN).toISOString(),
    ends_at: new Date(T0.getTime() + toMin * MIN).toISOString(),
    comment: 'maintenance',
    created_by: null,
  });

  it('suppresses every notification while it runs; what fell due is sent when it expires', () => {
    const sent = run(alert(), 40, { silences: [silence(0, 30)] });
    assert.deepEqual(
      sent.map((s) => [s.minute, s.receiver, s.kind]),
      [
        [30, 'tech-lead', 'raised'],
        [30, 'project-manager', 'raised'],
      ],
    );
  });

  it('names the silence in the decision, and a silence for other keys does not apply', () => {
    const input = (s: Silence): RoutingInput => ({ alerts: [alert()], routes: CHAIN, receivers: [], repeatMinutes: 240, silences: [s], inhibit: [], now: T0 });
    assert.equal(routeAlerts(input(silence(0, 120)))[0]!.silenced_by, 's1');
    assert.deepEqual(routeAlerts(input(silence(0, 120)))[0]!.due, []);
    assert.equal(routeAlerts(input(silence(0, 120, 'storage')))[0]!.silenced_by, null);
    assert.equal(routeAlerts(input(silence(0, 120, 'storage')))[0]!.due.length, 1);
  });

  it('does not hold back a resolution', () => {
    const [d] = routeAlerts({
      alerts: [alert({ state: 'resolved', told: ['tech-lead'] })],
      routes: CHAIN,
      receivers: [],
      repeatMinutes: 240,
      silences: [silence(0, 120)],
      inhibit: [],
      now: T0,
    });
    assert.deepEqual(d!.due, [{ key: 'consecutive_failures', receiver: 'tech-lead', kind: 'resolved' }]);
  });
});

describe('routeAlerts: inhibition', () => {
  it('an active source alert holds back its targets with the same labels, and they go out once it clears', () => {
    const rules = [{ source: { key: 'copy_failed:*' }, target: { key: 'copy_behind:*' }, equal: ['subject' as const] }];
    const failed = alert({ key: 'copy_failed:offsite', rule: 'copy_failed', severity: 'high' });
    const behind = alert({ key: 'copy_behind:offsite', rule: 'copy_behind', severity: 'medium' });
    const otherBehind = alert({ key: 'copy_behind:cloud', rule: 'copy_behind', severity: 'medium' });
    const input: RoutingInput = {
      alerts: [failed, behind, otherBehind],
      routes: [],
      receivers: ['tech-lead'],
      repeatMinutes: 240,
      silences: [],
      inhibit: rules,
      now: T0,
    };
    const d = routeAlerts(input);
    assert.deepEqual(
      d.map((x) => [x.key, x.inhibited_by, x.due.length]),
      [
        ['copy_failed:offsite', null, 1],
        ['copy_behind:offsite', 'copy_failed:offsite', 0],
        ['copy_behind:cloud', null, 1],
      ],
    );
    const after = routeAlerts({ ...input, alerts: [{ ...failed, state: 'resolved' }, behind] });
    assert.deepEqual(after[1]!.due, [{ key: 'copy_behind:offsite', receiver: 'tech-lead', kind: 'raised' }]);
  });

  it('the default rule: a critical storage alert holds back the lower storage ones, not other alerts', () => {
    const crit = alert({ key: 'storage', rule: 'storage_over_95', severity: 'critical' });
    assert.equal(inhibitedBy(alert({ key: 'storage:copy', rule: 'storage_over_80', severity: 'medium' }), [crit], DEFAULT_INHIBIT)?.key, 'storage');
    assert.equal(inhibitedBy(alert({ key: 'no_recent_success', severity: 'high' }), [crit], DEFAULT_INHIBIT), undefined);
    assert.equal(inhibitedBy(alert({ key: 'storage:copy', severity: 'critical' }), [crit], DEFAULT_INHIBIT), undefined);
  });
});

describe('grouping, patterns, durations', () => {
  it('one message per receiver, most severe first', () => {
    const due = [
      { key: 'a', receiver: 'tech-lead', severity: 'medium' as const },
      { key: 'b', receiver: 'status-channel', severity: 'high' as const },
      { key: 'c', receiver: 'tech-lead', severity: 'critical' as const },
    ];
    const g = groupByReceiver(due);
    assert.deepEqual([...g.keys()], ['tech-lead', 'status-channel']);
    assert.deepEqual(
      g.get('tech-lead')!.map((n) => n.key),
      ['c', 'a'],
    );
  });

  it('key patterns: * is any run, everything else literal', () => {
    assert.ok(keyMatches('backup_failed:*', 'backup_failed:20260301-020000-full'));
    assert.ok(keyMatches('*', 'storage'));
    assert.ok(!keyMatches('storage', 'storage:copy'));
    assert.ok(!keyMatches('a.c', 'abc'));
    assert.ok(keyMatches('drill_*', 'drill_over_rto'));
  });

  it('durations: 90m, 2h, 1d, 1h30m; zero and junk refused', () => {
    assert.deepEqual(['90m', '2h', '1d', '1h30m', '0h', 'x', '', '2'].map(parseDurationMinutes), [
      90,
      120,
      1440,
      90,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });
});
