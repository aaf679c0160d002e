import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PrismError } from '../errors/index.js';
import { parseDuration } from './parse-duration.js';

describe('parseDuration', () => {
  it('reads the units ms, s, m and h', () => {
    assert.equal(parseDuration('--lock-wait', '30s'), 30_000);
    assert.equal(parseDuration('--lock-wait', '5m'), 300_000);
    assert.equal(parseDuration('--lock-wait', '1h'), 3_600_000);
    assert.equal(parseDuration('--lock-wait', '250ms'), 250);
    assert.equal(parseDuration('--lock-wait', '0s'), 0);
  });

  it('reads a bare number as seconds', () => {
    assert.equal(parseDuration('--lock-wait', '10'), 10_000);
    assert.equal(parseDuration('--lock-wait', '0'), 0);
  });

  it('accepts decimals and surrounding spaces, rounding to whole ms', () => {
    assert.equal(parseDuration('--lock-wait', '1.5s'), 1500);
    assert.equal(parseDuration('--lock-wait', '0.25h'), 900_000);
    assert.equal(parseDuration('--lock-wait', '2.5'), 2500);
    assert.equal(parseDuration('--lock-wait', '1.4ms'), 1);
    assert.equal(parseDuration('--lock-wait', '  30s  '), 30_000);
  });

  it('rejects anything else with INVALID_ARGUMENT naming the flag and the value', () => {
    for (const text of ['', 'abc', '-5s', '5 m', '5M', '1d', '1e3', '.5s', '5.s', 's', '30s30', '1h30m', 'NaN', 'Infinity']) {
      assert.throws(
        () => parseDuration('--timeout', text),
        (e: unknown) => {
          assert.ok(e instanceof PrismError, `expected a PrismError for ${JSON.stringify(text)}`);
          assert.equal(e.code, 'INVALID_ARGUMENT');
          assert.ok(e.message.includes('--timeout'));
          assert.ok(e.message.includes(`"${text}"`));
          assert.equal(e.details.flag, '--timeout');
          assert.equal(e.details.value, text);
          return true;
        },
        text,
      );
    }
  });
});
