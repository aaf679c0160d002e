import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CopyFraming } from './copy-framing.js';

function message(type: string, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type.charCodeAt(0);
  head.writeUInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** What a backend sends for a COPY … TO STDOUT of `rows`, a ParameterStatus and a NoticeResponse among them, then CopyDone, CommandComplete, ReadyForQuery. */
function copyStream(rows: Buffer[]): { wire: Buffer; data: Buffer; end: number } {
  const parts = [message('H', Buffer.from([0, 0, 0]))];
  rows.forEach((r, i) => {
    parts.push(message('d', r));
    if (i === 1) parts.push(message('S', Buffer.from('TimeZone\0UTC\0')));
    if (i === 2) parts.push(message('N', Buffer.from('SNOTICE\0Mhello\0\0')));
  });
  const end = parts.reduce((n, p) => n + p.length, 0);
  parts.push(message('c', Buffer.alloc(0)), message('C', Buffer.from('COPY 3\0')), message('Z', Buffer.from('I')));
  return { wire: Buffer.concat(parts), data: Buffer.concat(rows), end };
}

/** Feeds `wire` cut at `cuts` (offsets, ascending); returns the row bytes and the offset in `wire` where copy mode ended. */
function feed(wire: Buffer, cuts: number[]): { data: Buffer; end: number } {
  const f = new CopyFraming();
  const out: Buffer[] = [];
  let from = 0;
  for (const to of [...cuts, wire.length]) {
    const chunk = Buffer.from(wire.subarray(from, to)); // a socket chunk of its own, stripped in place
    const { rows, end } = f.strip(chunk);
    out.push(Buffer.from(chunk.subarray(0, rows)));
    if (end >= 0) {
      assert.deepEqual(chunk.subarray(end), wire.subarray(from + end, to), 'the bytes after copy mode are untouched');
      return { data: Buffer.concat(out), end: from + end };
    }
    from = to;
  }
  return { data: Buffer.concat(out), end: -1 };
}

describe('CopyFraming', () => {
  const rows = [Buffer.from('1\tone\n'), Buffer.from('2\t\\N\n'), Buffer.from('3\tÿ unicode ✓\n'), Buffer.alloc(0), Buffer.from('5\tlast\n')];
  const s = copyStream(rows);

  it('gives the row bytes and where copy mode ends, with the stream cut at any one or two places', () => {
    for (let a = 0; a <= s.wire.length; a++) {
      for (let b = a; b <= s.wire.length; b += 3) {
        const r = feed(s.wire, [a, b]);
        assert.deepEqual(r.data, s.data, `cut at ${a}, ${b}`);
        assert.equal(r.end, s.end, `cut at ${a}, ${b}`);
      }
    }
  });

  it('takes a chunk a byte at a time, and one larger than its memory', () => {
    const big = copyStream([Buffer.alloc(300_000, 0x41), Buffer.from('x\n'), Buffer.alloc(70_000, 0x42)]);
    assert.deepEqual(feed(big.wire, []), { data: big.data, end: big.end });
    const every = Array.from({ length: s.wire.length - 1 }, (_, i) => i + 1);
    assert.deepEqual(feed(s.wire, every), { data: s.data, end: s.end });
  });

  it('keeps its state across many chunks of random sizes', () => {
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const many = copyStream(Array.from({ length: 20_000 }, (_, i) => Buffer.from(`${i}\t${'v'.repeat(rand(200))}\n`)));
    const cuts: number[] = [];
    for (let p = rand(5000); p < many.wire.length; p += 1 + rand(70_000)) cuts.push(p);
    assert.deepEqual(feed(many.wire, cuts), { data: many.data, end: many.end });
  });

  it('stops at once at a message that ends copy mode (an ErrorResponse first)', () => {
    const err = Buffer.concat([message('E', Buffer.from('SERROR\0\0')), message('Z', Buffer.from('I'))]);
    assert.deepEqual(feed(err, []), { data: Buffer.alloc(0), end: 0 });
    const mid = Buffer.concat([message('H', Buffer.from([0, 0, 0])), message('d', Buffer.from('a\n')), err]);
    assert.deepEqual(feed(mid, [9]), { data: Buffer.from('a\n'), end: 15 }); // H: 8 bytes, d: 7
  });
});
