import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nameFuzzRound } from '../testing/name-fuzz.js';

// the short run of `npm run fuzz:names` (fixed seeds, so a failure replays)
describe('name fuzz (CLI, small)', () => {
  for (const seed of [1, 2]) {
    it(`seed ${seed}: 60 odd names survive backup, restore elsewhere and in place, health check and prune`, () => {
      const r = nameFuzzRound(seed, 60);
      assert.deepEqual(r.failures, []);
    });
  }
});
