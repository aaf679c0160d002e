import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sandbox } from '../testing/fixtures.js';
import { parseStrictJson } from '../testing/strict-json.js';
import { fileLogger } from './logger.js';

describe('fileLogger', () => {
  const sb = sandbox();
  after(() => sb.cleanup());

  it('writes one JSON object per line and never a key twice, whatever the logged object holds', () => {
    const log = fileLogger(sb.home, 'test.log', true);
    log.info({ event: 'a', pid: process.pid }, 'own pid');
    log.warn({ event: 'b', pid: 1, time: 'then', level: 'high', msg: 'inner' }, 'other keys');
    log.debug({ event: 'c' }, 'plain');
    const lines = readFileSync(join(sb.home, 'logs', 'test.log'), 'utf8')
      .trimEnd()
      .split('\n');
    const parsed = lines.map((l) => parseStrictJson(l) as Record<string, unknown>);
    assert.deepEqual(
      parsed.map((l) => [l.level, l.pid, l.event, l.msg, l.pid_field, l.time_field, l.level_field, l.msg_field]),
      [
        [30, process.pid, 'a', 'own pid', undefined, undefined, undefined, undefined],
        [40, process.pid, 'b', 'other keys', 1, 'then', 'high', 'inner'],
        [20, process.pid, 'c', 'plain', undefined, undefined, undefined, undefined],
      ],
    );
  });
});
