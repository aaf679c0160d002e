import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { chunksOf, pipelined } from './sftp-transfer.js';

describe('sftp transfers', () => {
  it('chunks parts into requests of at most max bytes, in order, slicing large parts without copies', () => {
    const max = 128 * 1024;
    for (let round = 0; round < 50; round++) {
      const sizes = Array.from({ length: 1 + (round % 9) }, (_, i) => [0, 1, 3, 1000, max / 4, max - 1, max, max + 1, 3 * max + 77][(round + i * 5) % 9]!);
      const parts = sizes.map((n) => new Uint8Array(randomBytes(n)));
      const chunks = [...chunksOf(parts, max)];
      assert.ok(
        chunks.every((c) => c.length > 0 && c.length <= max),
        `sizes ${sizes.join(',')}`,
      );
      assert.ok(Buffer.concat(chunks).equals(Buffer.concat(parts)), `sizes ${sizes.join(',')}`);
    }
    const big = randomBytes(4 * max);
    const chunks = [...chunksOf([big], max)];
    assert.equal(chunks.length, 4);
    assert.ok(
      chunks.every((c) => c.buffer === big.buffer),
      'slices of the part itself',
    );
    assert.deepEqual([...chunksOf([], max)], []);
  });

  it('runs at most depth tasks at once; after a failure issues no more, waits for those in flight, and rejects with it', async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const finished: number[] = [];
    const task = async (i: number): Promise<void> => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      finished.push(i);
      if (i === 5) throw new Error('task 5 failed');
    };
    await assert.rejects(
      pipelined(
        Array.from({ length: 100 }, (_, i) => i),
        4,
        task,
      ),
      /task 5 failed/,
    );
    assert.equal(most, 4);
    assert.ok(started.length < 12, `started ${started.length}`);
    assert.deepEqual(
      [...finished].sort((a, b) => a - b),
      [...started].sort((a, b) => a - b),
      'none left running',
    );
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await assert.rejects(pipelined([1, 2, 3], 2, task, ac.signal), /stop/);
  });
});
