import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { json, prism, sandbox, type Sandbox } from '../testing/fixtures.js';

interface AlertsJson {
  active: Array<{ key: string; acknowledged: { comment: string | null; at: string } | null }>;
  routing: Array<{ key: string; silenced_by: string | null; next_step_at: string | null }>;
  silences: Array<{ id: string; match: string; state: string; comment: string | null }>;
}

describe('prism alerts ack / silence (CLI)', () => {
  let sb: Sandbox;
  const config = (alerts: Record<string, unknown>) => writeFileSync(join(sb.home, 'config', 'backup.json'), JSON.stringify({ backup: { alerts } }));
  before(() => {
    sb = sandbox();
    config({ command: 'true', webhook_url: 'http://127.0.0.1:9/', routes: [{ steps: [{ receiver: 'command' }, { receiver: 'webhook', after_minutes: 15 }] }] });
  });
  after(() => sb.cleanup());

  it('acknowledges an active alert; prism alerts shows it, in text and --json', () => {
    // no backup yet: no_recent_success is active
    const first = json<AlertsJson>(prism(['alerts', '--json'], sb.env));
    assert.equal(first.active[0]!.key, 'no_recent_success');
    assert.ok(first.routing[0]!.next_step_at, 'the project manager step is waiting');
    const r = prism(['alerts', 'ack', 'no_recent_success', '--comment', 'restoring the disk'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Acknowledged no_recent_success/);
    const j = json<AlertsJson>(prism(['alerts', '--json'], sb.env));
    assert.equal(j.active[0]!.acknowledged!.comment, 'restoring the disk');
    assert.equal(j.routing[0]!.next_step_at, null, 'no further step once acknowledged');
    assert.match(prism(['alerts'], sb.env).stdout, /no_recent_success: acknowledged .*: restoring the disk/);
    const bad = prism(['alerts', 'ack', 'no_such_alert'], sb.env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /No active alert "no_such_alert"; the active ones: no_recent_success/);
  });

  it('silences: set, listed, shown by prism alerts, removed; bad durations refused', () => {
    const r = prism(['alerts', 'silence', '--match', 'no_recent_*', '--for', '2h', '--comment', 'maintenance', '--json'], sb.env);
    assert.equal(r.code, 0, r.stderr);
    const s = json<{ id: string; ends_at: string }>(r);
    const list = json<{ silences: AlertsJson['silences'] }>(prism(['alerts', 'silence', 'list', '--json'], sb.env));
    assert.deepEqual(
      list.silences.map((x) => [x.id, x.match, x.state, x.comment]),
      [[s.id, 'no_recent_*', 'active', 'maintenance']],
    );
    assert.match(prism(['alerts', 'silence', 'list'], sb.env).stdout, new RegExp(`${s.id}\\s+no_recent_\\*\\s+active`));
    const a = json<AlertsJson>(prism(['alerts', '--json'], sb.env));
    assert.equal(a.routing[0]!.silenced_by, s.id);
    assert.equal(a.silences.length, 1);
    assert.match(prism(['alerts'], sb.env).stdout, new RegExp(`no_recent_success: silenced \\(${s.id}\\)`));
    assert.equal(prism(['alerts', 'silence', 'remove', s.id], sb.env).code, 0);
    assert.match(prism(['alerts', 'silence', 'list'], sb.env).stdout, /No silences\./);
    for (const args of [
      ['alerts', 'silence', '--match', 'x', '--for', 'soon'],
      ['alerts', 'silence', '--match', 'x'],
      ['alerts', 'silence', 'remove', 'nope'],
    ]) {
      const b = prism(args, sb.env);
      assert.equal(b.code, 2, `${args.join(' ')}: ${b.stdout}${b.stderr}`);
      assert.match(b.stderr, /ERR_PRISM_ARGS/);
    }
  });

  it('a route naming an unknown receiver is refused with the key named', () => {
    config({ command: 'true', routes: [{ steps: [{ receiver: 'project-manager', after_minutes: 15 }] }] });
    const r = prism(['alerts'], sb.env);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /backup\.alerts\.routes\.0\.steps\.0\.receiver/);
    assert.match(r.stderr, /"command"/);
  });
});
