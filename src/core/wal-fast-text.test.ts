import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeField, encodeField, fnv1a64 } from './wal-fast-text.js';

describe('the text the WAL launcher reads', () => {
  it('encodes every byte outside 0x21-0x7E (and %) so that a value is one word on one line, and decodes only what it writes', () => {
    assert.equal(encodeField('a b%\n/é'), 'a%20b%25%0A/%C3%A9');
    for (const s of ['', '/tmp/x y', 'line\nbreak', '100%', 'é\u{1F600}']) assert.equal(decodeField(encodeField(s)), s);
    for (const bad of ['a b', '%0g', '%0a', '%00', '%C3', '%FF', '%', 'é']) assert.equal(decodeField(bad), undefined, bad);
  });

  it('FNV-1a 64 as the C side computes it', () => {
    assert.equal(fnv1a64(''), 'cbf29ce484222325');
    assert.equal(fnv1a64('a'), 'af63dc4c8601ec8c');
    assert.equal(fnv1a64('foobar'), '85944171f73967e8');
  });
});
