import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { appContext, sandbox } from '../testing/fixtures.js';
import { ALERT_EVALUATION_MS, ESCALATION_EVALUATION_MS, idleWork } from './job-table.js';

describe('the service evaluates alerts every minute when a route escalates', () => {
  it('every 5 minutes without escalation steps, every minute with one', () => {
    const sb = sandbox();
    try {
      const config = (alerts: Record<string, unknown>) => {
        writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { alerts } }));
        return appContext(sb);
      };
      assert.equal(idleWork(config({})).everyMs, ALERT_EVALUATION_MS);
      assert.equal(idleWork(config({ command: 'true', routes: [{ steps: [{ receiver: 'command' }] }] })).everyMs, ALERT_EVALUATION_MS);
      const escalating = config({
        command: 'true',
        webhook_url: 'http://127.0.0.1:9/',
        routes: [{ steps: [{ receiver: 'command' }, { receiver: 'webhook', after_minutes: 15 }] }],
      });
      assert.equal(idleWork(escalating).everyMs, ESCALATION_EVALUATION_MS);
      assert.ok(ESCALATION_EVALUATION_MS <= 60_000);
    } finally {
      sb.cleanup();
    }
  });
});
