import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fetchInOrder } from './in-order.js';

describe('fetchInOrder', () => {
  it('keeps the items’ order whatever order the fetches end in, with at most `limit` running', async () => {
    let running = 0;
    let most = 0;
    const out = await fetchInOrder([5, 1, 4, 2, 3, 0, 6], 3, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, n * 3));
      running--;
      return n * 10;
    });
    assert.deepEqual(out, [50, 10, 40, 20, 30, 0, 60]);
    assert.equal(most, 3);
  });

  it('rejects with a failure; an empty list is empty', async () => {
    await assert.rejects(
      fetchInOrder([1, 2, 3], 2, async (n) => {
        if (n === 2) throw new Error('two failed');
        return n;
      }),
      /two failed/,
    );
    assert.deepEqual(await fetchInOrder([], 4, async () => 1), []);
  });
});
