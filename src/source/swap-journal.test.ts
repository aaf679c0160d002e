import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { hashTree, sandbox, type Sandbox } from '../testing/fixtures.js';
import { journalPath, readJournal, recoverSwap, rollbackSwap, runSwap, writeJournal, type SwapJournal } from './swap-journal.js';

/** old data in a/ and b/, new data staged in .stage/a and .stage/b */
function setup(target: string): SwapJournal {
  for (const [dir, content] of [['a', 'old a'], ['b', 'old b'], ['.stage/a', 'new a'], ['.stage/b', 'new b']] as const) {
    mkdirSync(join(target, dir), { recursive: true });
    writeFileSync(join(target, dir, 'f.txt'), content);
  }
  const j: SwapJournal = {
    backup: 'backup_20260207_020015_full',
    staging: '.stage',
    trash: '.trash',
    steps: [
      ['a', '.trash/a'],
      ['.stage/a', 'a'],
      ['b', '.trash/b'],
      ['.stage/b', 'b'],
    ],
    done: 0,
    state: 'staging',
  };
  writeJournal(target, j);
  return j;
}

const content = (t: string) => ['a', 'b'].map((d) => (existsSync(join(t, d, 'f.txt')) ? readFileSync(join(t, d, 'f.txt'), 'utf8') : '-')).join('|');

describe('swap journal', () => {
  let sb: Sandbox;
  beforeEach(() => {
    sb = sandbox({ init: false });
    mkdirSync(sb.home, { recursive: true });
  });
  afterEach(() => sb.cleanup());

  for (let crashAfter = 0; crashAfter <= 4; crashAfter++) {
    it(`a crash after ${crashAfter} of 4 renames is completed by recovery: all new data, nothing left over`, () => {
      const j = setup(sb.home);
      let n = 0;
      if (crashAfter === 0) {
        writeJournal(sb.home, { ...j, state: 'swapping' }); // died right after journaling the start
      } else {
        assert.throws(() =>
          runSwap(sb.home, j, () => {
            if (++n === crashAfter) throw new Error('simulated crash');
          }),
        );
      }
      assert.equal(readJournal(sb.home)?.state, 'swapping');
      assert.equal(recoverSwap(sb.home), 'completed');
      assert.equal(content(sb.home), 'new a|new b');
      assert.deepEqual([...hashTree(sb.home).keys()].sort(), ['a/f.txt', 'b/f.txt']);
      assert.equal(existsSync(journalPath(sb.home)), false);
    });
  }

  it('a crash while still staging leaves the old data and keeps the staging area for a resume', () => {
    setup(sb.home);
    assert.equal(recoverSwap(sb.home), 'staging');
    assert.equal(content(sb.home), 'old a|old b');
    assert.ok(existsSync(join(sb.home, '.stage', 'a', 'f.txt')));
  });

  it('rollback undoes the renames made so far', () => {
    const j = setup(sb.home);
    let n = 0;
    assert.throws(() =>
      runSwap(sb.home, j, () => {
        if (++n === 3) throw new Error('EACCES');
      }),
    );
    rollbackSwap(sb.home, j);
    assert.equal(content(sb.home), 'old a|old b');
    assert.equal(readJournal(sb.home)?.state, 'staging');
    assert.equal(readJournal(sb.home)?.done, 0);
  });
});
