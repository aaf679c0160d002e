import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { defaultCompressionLevel } from '../config/schema.js';
import { CODEC, CompressionError, FrameCompressor, decompress, type CompressionSettings } from './compress.js';
import { prngBytes } from '../testing/fixtures.js';

function text(bytes: number): Buffer {
  const line = 'prism backup: level-1-hot/session-0042.json saved with checksum sha256\n';
  return Buffer.from(line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes));
}

const ZSTD: CompressionSettings = { enabled: true, algorithm: 'zstd', level: 3 };
const GZIP: CompressionSettings = { enabled: true, algorithm: 'gzip', level: 6 };

describe('codec ids and default levels', () => {
  it('keeps the on-disk codec numbers stable', () => {
    assert.deepEqual(CODEC, { none: 0, zstd: 1, gzip: 2 });
  });
  it('uses zstd 3 and gzip 6 as default levels', () => {
    assert.equal(defaultCompressionLevel('zstd'), 3);
    assert.equal(defaultCompressionLevel('gzip'), 6);
  });
});

describe('FrameCompressor', () => {
  for (const settings of [ZSTD, GZIP]) {
    const expectedCodec = settings.algorithm === 'zstd' ? CODEC.zstd : CODEC.gzip;

    it(`${settings.algorithm}: compressible data round-trips and shrinks`, () => {
      const fc = new FrameCompressor(settings);
      const raw = text(200_000);
      const { codec, data } = fc.compress(raw);
      assert.equal(codec, expectedCodec);
      assert.ok(data.length < raw.length / 5, `compressed to ${data.length} of ${raw.length} bytes`);
      const back = decompress(codec, data, raw.length);
      assert.ok(back.equals(raw));
    });

    it(`${settings.algorithm}: one compressor handles many frames in a row`, () => {
      const fc = new FrameCompressor(settings);
      for (let i = 0; i < 20; i++) {
        const raw = Buffer.concat([text(1000 + i * 997), Buffer.from(`frame ${i}`)]);
        const { codec, data } = fc.compress(raw);
        assert.equal(codec, expectedCodec);
        assert.ok(decompress(codec, data, raw.length).equals(raw), `frame ${i}`);
      }
    });

    it(`${settings.algorithm}: incompressible data is stored as none, unchanged`, () => {
      const fc = new FrameCompressor(settings);
      const raw = prngBytes(100_000, 42);
      const { codec, data } = fc.compress(raw);
      assert.equal(codec, CODEC.none);
      assert.ok(Buffer.from(data).equals(raw));
      assert.ok(decompress(codec, data, raw.length).equals(raw));
    });

    it(`${settings.algorithm}: inputs under 64 bytes are stored as none`, () => {
      const fc = new FrameCompressor(settings);
      for (const n of [0, 1, 10, 63]) {
        const raw = Buffer.alloc(n, 'a');
        const { codec, data } = fc.compress(raw);
        assert.equal(codec, CODEC.none, `${n} bytes`);
        assert.equal(data.length, n);
        assert.ok(decompress(codec, data, n).equals(raw));
      }
      // 64 highly repetitive bytes are worth compressing
      const raw64 = Buffer.alloc(64, 'a');
      const r = fc.compress(raw64);
      assert.equal(r.codec, expectedCodec);
      assert.ok(decompress(r.codec, r.data, 64).equals(raw64));
    });

    it(`${settings.algorithm}: decompress rejects a wrong rawLength`, () => {
      const fc = new FrameCompressor(settings);
      const raw = text(10_000);
      const { codec, data } = fc.compress(raw);
      assert.equal(codec, expectedCodec);
      assert.throws(() => decompress(codec, data, raw.length + 1), /expected 10001/);
      assert.throws(() => decompress(codec, data, raw.length - 1), /expected 9999/);
    });

    it(`${settings.algorithm}: decompress rejects a damaged frame`, () => {
      const fc = new FrameCompressor(settings);
      const raw = text(10_000);
      const { codec, data } = fc.compress(raw);
      assert.throws(() => decompress(codec, Buffer.from(data).subarray(0, data.length >> 1), raw.length));
    });
  }

  it('honours the level: zstd 19 is no larger than zstd 1', () => {
    const raw = Buffer.concat([text(300_000), prngBytes(2000, 3), text(100_000)]);
    const low = new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 1 }).compress(raw);
    const high = new FrameCompressor({ enabled: true, algorithm: 'zstd', level: 19 }).compress(raw);
    assert.equal(low.codec, CODEC.zstd);
    assert.equal(high.codec, CODEC.zstd);
    assert.ok(high.data.length <= low.data.length);
    assert.ok(decompress(high.codec, high.data, raw.length).equals(raw));
    assert.ok(decompress(low.codec, low.data, raw.length).equals(raw));
  });

  it('gzip frames are plain gzip streams', () => {
    const raw = text(5000);
    const { codec, data } = new FrameCompressor({ enabled: true, algorithm: 'gzip', level: 9 }).compress(raw);
    assert.equal(codec, CODEC.gzip);
    assert.ok(gunzipSync(data).equals(raw));
  });

  it('reports a failing compressor as CompressionError naming algorithm and level', () => {
    const fc = new FrameCompressor({ enabled: true, algorithm: 'gzip', level: 12 });
    assert.throws(
      () => fc.compress(text(1000)),
      (e: unknown) => {
        assert.ok(e instanceof CompressionError);
        assert.equal(e.name, 'CompressionError');
        assert.match(e.message, /^gzip level 12: /);
        return true;
      },
    );
    // tiny inputs never reach the compressor
    assert.equal(fc.compress(Buffer.alloc(10)).codec, CODEC.none);
  });

  it('disabled compression stores everything as none', () => {
    for (const algorithm of ['zstd', 'gzip'] as const) {
      const fc = new FrameCompressor({ enabled: false, algorithm, level: defaultCompressionLevel(algorithm) });
      const raw = text(100_000);
      const { codec, data } = fc.compress(raw);
      assert.equal(codec, CODEC.none);
      assert.ok(Buffer.from(data).equals(raw));
    }
  });
});

describe('decompress', () => {
  it('returns CODEC.none data as it is', () => {
    const raw = prngBytes(1000, 9);
    const out = decompress(CODEC.none, raw, raw.length);
    assert.ok(Buffer.isBuffer(out));
    assert.ok(out.equals(raw));
  });

  it('accepts a view into a larger buffer', () => {
    const raw = text(50_000);
    const { codec, data } = new FrameCompressor(ZSTD).compress(raw);
    const padded = Buffer.concat([Buffer.alloc(17, 1), data, Buffer.alloc(9, 2)]);
    const view = padded.subarray(17, 17 + data.length);
    assert.ok(decompress(codec, view, raw.length).equals(raw));
    const noneView = padded.subarray(3, 10);
    assert.ok(decompress(CODEC.none, noneView, 7).equals(Buffer.alloc(7, 1)));
  });

  it('rejects an unknown codec', () => {
    assert.throws(() => decompress(3, Buffer.alloc(10), 10), /unknown codec 3/);
    assert.throws(() => decompress(255, Buffer.alloc(10), 10), /unknown codec 255/);
  });

  it('round-trips the sha256 of large mixed content through zstd', () => {
    const raw = Buffer.concat([text(1 << 20), prngBytes(1 << 18, 77)]);
    const { codec, data } = new FrameCompressor(ZSTD).compress(raw);
    assert.equal(codec, CODEC.zstd);
    const back = decompress(codec, data, raw.length);
    assert.equal(createHash('sha256').update(back).digest('hex'), createHash('sha256').update(raw).digest('hex'));
  });
});
