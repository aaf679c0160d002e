import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prng } from '../testing/fixtures.js';
import { bytesOfName, displayName, displayText, fsPath, isCanonicalName, nameFromBytes, parseDisplayedName } from './byte-names.js';

describe('byte names', () => {
  it('valid UTF-8 stays its text; invalid bytes become lone surrogates and come back exactly', () => {
    assert.equal(nameFromBytes(Buffer.from('café 日本 😀', 'utf8')), 'café 日本 😀');
    assert.equal(nameFromBytes(Buffer.from('bad\xff.txt', 'latin1')), 'bad\udcff.txt');
    assert.deepEqual(bytesOfName('bad\udcff.txt'), Buffer.from('bad\xff.txt', 'latin1'));
    // the replacement character written as UTF-8 is a different name from the byte 0xff
    assert.notEqual(nameFromBytes(Buffer.from('dup\xef\xbf\xbd.txt', 'latin1')), nameFromBytes(Buffer.from('dup\xff.txt', 'latin1')));
    // overlong forms, encoded surrogates and truncated sequences are bytes, not text
    for (const raw of ['\xc0\xaf', '\xed\xa0\x80', '\xe2\x82', '\xf4\x90\x80\x80', '\x80']) {
      const s = nameFromBytes(Buffer.from(raw, 'latin1'));
      assert.equal(s.length, raw.length, JSON.stringify(s));
      assert.deepEqual(bytesOfName(s), Buffer.from(raw, 'latin1'));
    }
  });

  it('round-trips random byte strings, one-to-one', () => {
    const rnd = prng(7);
    const seen = new Map<string, string>();
    for (let n = 0; n < 20_000; n++) {
      const len = 1 + Math.floor(rnd() * 12);
      // bias towards bytes that make (in)valid multi-byte sequences
      const bytes = Buffer.from(Array.from({ length: len }, () => (rnd() < 0.5 ? 0x80 + Math.floor(rnd() * 0x80) : Math.floor(rnd() * 0x100))));
      const s = nameFromBytes(bytes);
      assert.deepEqual(bytesOfName(s), bytes);
      assert.ok(isCanonicalName(s));
      const hex = bytes.toString('hex');
      const before = seen.get(s);
      assert.ok(before === undefined || before === hex, `${before} and ${hex} give the same string`);
      seen.set(s, hex);
    }
  });

  it('node:fs gets a string when the name is text and the bytes otherwise', () => {
    assert.equal(fsPath('/a/b.txt'), '/a/b.txt');
    assert.deepEqual(fsPath('/a/b\udcfe'), Buffer.from('/a/b\xfe', 'latin1'));
  });

  it('names no file system can give are not canonical (a crafted tree)', () => {
    assert.equal(isCanonicalName('\ud800x'), false); // a lone high surrogate
    assert.equal(isCanonicalName('x\udc41'), false); // an escape of an ASCII byte
    assert.equal(isCanonicalName('\udcc3\udca9'), false); // escapes that spell valid UTF-8 (é): would collide with "é"
    assert.equal(isCanonicalName('é\udcff'), true);
  });

  it('displays escaped bytes and control characters visibly, on one line', () => {
    assert.equal(displayName('bad\udcff.txt'), 'bad\\xff.txt');
    assert.equal(displayName('a\x1b]0;owned\x07b\nc'), 'a\\x1b]0;owned\\x07b\\x0ac');
    assert.equal(displayName('back\\slash'), 'back\\\\slash');
    assert.equal(displayName('x\u009by\u202ez'), 'x\\u{9b}y\\u{202e}z');
    assert.equal(displayName('😀 ok'), '😀 ok');
    // text (a message, a comment) keeps its lines, tabs and backslashes
    assert.equal(displayText('a\\b\tc\nd\x1b[2J\udcff'), 'a\\b\tc\nd\\x1b[2J\\xff');
  });

  it('a name typed as displayName shows it comes back as the name', () => {
    const rnd = prng(11);
    for (let n = 0; n < 5_000; n++) {
      const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 10) }, () => 1 + Math.floor(rnd() * 255)));
      const name = nameFromBytes(bytes);
      assert.equal(parseDisplayedName(displayName(name)), name, bytes.toString('hex'));
    }
    assert.equal(parseDisplayedName('bad\\xff.txt'), 'bad\udcff.txt');
    assert.equal(parseDisplayedName('caf\\xc3\\xa9'), 'café'); // bytes that spell UTF-8 are that text
    assert.equal(parseDisplayedName('a\\b'), 'a\\b'); // an unknown escape stays as typed
    assert.equal(parseDisplayedName('plain'), 'plain');
  });
});
