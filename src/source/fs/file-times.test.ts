import assert from 'node:assert/strict';
import { closeSync, lstatSync, mkdirSync, openSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { prng, sandbox, type Sandbox } from '../../testing/fixtures.js';
import { TIME_PRECISION, sameTime, setFileTimes, setPathTimes, utimesSeconds } from './file-times.js';

/** Random times in ns (decimal strings), pre-1970 ones and second boundaries included. */
function randomTimes(n: number, seed: number): string[] {
  const rnd = prng(seed);
  const out = ['0', '-1', '999999999', '1000000000', '-1000000001', '1700000000999999999', '4102444800000000001'];
  while (out.length < n) out.push((BigInt(Math.floor(rnd() * 2_000_000_000) - 200_000_000) * 1_000_000_000n + BigInt(Math.floor(rnd() * 1e9))).toString());
  return out;
}

describe('file times', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox({ init: false });
    mkdirSync(sb.root, { recursive: true });
  });
  afterEach(() => sb.cleanup());

  it('sets files, directories and symlinks to the nanosecond', () => {
    assert.equal(TIME_PRECISION, 'ns', 'the file-times addon is built (npm run build needs a C compiler)');
    const off: string[] = [];
    for (const [i, ns] of randomTimes(600, 7).entries()) {
      const file = join(sb.root, `f${i}`);
      writeFileSync(file, '');
      const fd = openSync(file, 'r+');
      try {
        setFileTimes(fd, ns);
      } finally {
        closeSync(fd);
      }
      const dir = join(sb.root, `d${i}`);
      mkdirSync(dir);
      setPathTimes(dir, ns);
      const link = join(sb.root, `l${i}`);
      symlinkSync(file, link);
      setPathTimes(link, (BigInt(ns) + 1n).toString());
      for (const [p, want] of [
        [file, ns],
        [dir, ns],
        [link, (BigInt(ns) + 1n).toString()],
      ] as const) {
        const st = lstatSync(p, { bigint: true });
        if (st.mtimeNs !== BigInt(want) || st.atimeNs !== BigInt(want)) off.push(`${p}: ${st.mtimeNs} != ${want}`);
      }
    }
    assert.deepEqual(off.slice(0, 5), [], `${off.length} times differ`);
    assert.equal(lstatSync(join(sb.root, 'f0'), { bigint: true }).mtimeNs, 0n, "a symlink's time is its own, not its target's");
  });

  it("without the addon, Node's utimes gets every time exact to the microsecond", () => {
    const file = join(sb.root, 'f');
    writeFileSync(file, '');
    const off: string[] = [];
    for (const ns of randomTimes(3000, 11)) {
      const t = utimesSeconds(BigInt(ns));
      utimesSync(file, t, t);
      const got = lstatSync(file, { bigint: true }).mtimeNs;
      const want = BigInt(ns) - (((BigInt(ns) % 1000n) + 1000n) % 1000n);
      if (got !== want) off.push(`${ns}: ${got}`);
    }
    assert.deepEqual(off.slice(0, 5), [], `${off.length} times off`);
  });

  it('sameTime compares at the precision that can be set', () => {
    assert.equal(sameTime(1700000000123456789n, 1700000000123456789n), true);
    assert.equal(sameTime(1700000000123456789n, 1700000000123456000n), TIME_PRECISION === 'us');
    assert.equal(sameTime(1700000000123456789n, 1700000000123457000n), false);
  });
});
