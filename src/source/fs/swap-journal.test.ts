import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { PrismError } from '../../errors/index.js';
import { hashTree, sandbox, type Sandbox } from '../../testing/fixtures.js';
import { journalPath, readJournal, recoverSwap, rollbackSwap, runSwap, writeJournal, type SwapJournal } from './swap-journal.js';

/** old data in a/ and b/, new data staged in .prism-restore-stage/a and .prism-restore-stage/b */
function setup(target: string): SwapJournal {
  for (const [dir, content] of [
    ['a', 'old a'],
    ['b', 'old b'],
    ['.prism-restore-stage/a', 'new a'],
    ['.prism-restore-stage/b', 'new b'],
  ] as const) {
    mkdirSync(join(target, dir), { recursive: true });
    writeFileSync(join(target, dir, 'f.txt'), content);
  }
  const j: SwapJournal = {
    backup: 'backup_20260207_020015_full',
    staging: '.prism-restore-stage',
    trash: '.prism-restore-old',
    steps: [
      ['a', '.prism-restore-old/a'],
      ['.prism-restore-stage/a', 'a'],
      ['b', '.prism-restore-old/b'],
      ['.prism-restore-stage/b', 'b'],
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
    assert.ok(existsSync(join(sb.home, '.prism-restore-stage', 'a', 'f.txt')));
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

  it('a rename never goes through a symlink: a staged folder that links out of the target stops the swap', () => {
    const outside = join(sb.root, 'outside');
    mkdirSync(outside);
    mkdirSync(join(sb.home, 'a'), { recursive: true });
    writeFileSync(join(sb.home, 'a', 'keep'), 'live');
    mkdirSync(join(sb.home, '.prism-restore-stage'));
    symlinkSync(outside, join(sb.home, '.prism-restore-stage', 'a'));
    const j: SwapJournal = {
      backup: 'b',
      staging: '.prism-restore-stage',
      trash: '.prism-restore-old',
      steps: [['a/keep', '.prism-restore-stage/a/keep']],
      done: 0,
      state: 'staging',
    };
    writeJournal(sb.home, j);
    assert.throws(
      () => runSwap(sb.home, j),
      (e: PrismError) => e.code === 'RESTORE_PATH_REFUSED' && /is a symlink/.test(e.message),
    );
    assert.deepEqual(readdirSync(outside), []);
    assert.equal(readFileSync(join(sb.home, 'a', 'keep'), 'utf8'), 'live');
  });

  it('a journal prism could not have written is refused whole, nothing renamed', () => {
    mkdirSync(join(sb.home, 'logs'));
    const base = { backup: 'b', staging: '.prism-restore-stage', trash: '.prism-restore-old', done: 0, state: 'swapping' as const };
    const crafted: SwapJournal[] = [
      { ...base, steps: [['logs', '.prism-restore-old/logs']] },
      { ...base, steps: [['logs', '../logs']] },
      { ...base, steps: [['.prism-restore.journal', '.prism-restore-old/.prism-restore.journal']] },
      { ...base, trash: '..', steps: [['logs', '../logs']] },
      { ...base, staging: 'logs', steps: [] },
    ];
    for (const j of crafted) {
      writeJournal(sb.home, j);
      assert.throws(
        () => recoverSwap(sb.home, ['logs']),
        (e: PrismError) => e.code === 'RESTORE_RECOVERY_FAILED',
        JSON.stringify(j),
      );
      assert.ok(existsSync(join(sb.home, 'logs')));
    }
  });
});
