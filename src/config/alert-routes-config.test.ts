import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from './load-config.js';
import { configHomes, expectConfigInvalid } from '../testing/config-homes.js';

const home = configHomes();
const alerts = (a: Record<string, unknown>) => ({
  PRISM_HOME: home({ backup: { alerts: { webhook_url: 'http://127.0.0.1:9/hook', command: 'true', ...a } } }),
});

describe('loadConfig: backup.alerts.routes and inhibit', () => {
  it("takes routes naming the receivers defined, and keeps today's behaviour by default", () => {
    const c = loadConfig(
      alerts({
        routes: [
          {
            match: { severity: ['critical'], key: 'backup_*' },
            steps: [{ receiver: 'command' }, { receiver: 'webhook', after_minutes: 15 }],
            repeat_minutes: 30,
          },
        ],
      }),
    );
    assert.deepEqual(c.backup.alerts.routes[0]!.steps, [
      { receiver: 'command', after_minutes: 0 },
      { receiver: 'webhook', after_minutes: 15 },
    ]);
    const d = loadConfig({ PRISM_HOME: home({ backup: {} }) });
    assert.deepEqual(d.backup.alerts.routes, []);
    assert.equal(d.backup.alerts.inhibit.length, 1);
  });

  it('refuses an unknown receiver, naming the key and the receivers there are', () => {
    const e = expectConfigInvalid(
      () => loadConfig(alerts({ routes: [{ steps: [{ receiver: 'command' }, { receiver: 'project-manager', after_minutes: 15 }] }] })),
      'backup.alerts.routes.0.steps.1.receiver',
      '"project-manager"',
      '"webhook", "command"',
    );
    assert.equal(e.details.key, 'backup.alerts.routes.0.steps.1.receiver');
    // webhook is no receiver when webhook_url is not set
    expectConfigInvalid(
      () => loadConfig({ PRISM_HOME: home({ backup: { alerts: { routes: [{ steps: [{ receiver: 'webhook' }] }] } } }) }),
      'backup.alerts.routes.0.steps.0.receiver',
      'none yet',
    );
  });

  it('refuses a route without steps, negative minutes, an unknown severity or label', () => {
    expectConfigInvalid(
      () => loadConfig(alerts({ routes: [{ match: { severity: ['critical'] }, steps: [] }] })),
      'backup.alerts.routes.0.steps',
      'at least one step',
    );
    expectConfigInvalid(
      () => loadConfig(alerts({ routes: [{ steps: [{ receiver: 'webhook', after_minutes: -5 }] }] })),
      'backup.alerts.routes.0.steps.0.after_minutes',
      '-5',
    );
    expectConfigInvalid(
      () => loadConfig(alerts({ routes: [{ steps: [{ receiver: 'webhook' }], repeat_minutes: 0 }] })),
      'backup.alerts.routes.0.repeat_minutes',
      '0',
    );
    expectConfigInvalid(
      () => loadConfig(alerts({ routes: [{ match: { severity: ['urgent'] }, steps: [{ receiver: 'webhook' }] }] })),
      'backup.alerts.routes.0.match.severity.0',
      '"urgent"',
    );
    expectConfigInvalid(() => loadConfig(alerts({ inhibit: [{ source: {}, target: {}, equal: ['host'] }] })), 'backup.alerts.inhibit.0.equal.0', '"host"');
    expectConfigInvalid(() => loadConfig(alerts({ routes: [{ steps: [{ receiver: 'webhook', after: 5 }] }] })), 'backup.alerts.routes.0.steps.0', 'after');
  });
});
