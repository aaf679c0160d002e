import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Manifest } from '../repo/index.js';
import { hashTree, json, prism, prismAsync, prngBytes, sandbox, textData, writeDataset, type Sandbox } from '../testing/fixtures.js';

const RUNS = Number(process.env.PRISM_RESTORE_KILL_RUNS ?? 20);

/** The data directory's files (restore staging areas are hidden work files, not data). */
function state(home: string): string {
  const files = [...hashTree(home)].filter(([p]) => !p.startsWith('.prism-restore') && p !== 'prism.pid');
  return JSON.stringify(files.sort());
}

describe('kill -9 during a restore over live data', () => {
  let sb: Sandbox;
  let a: Manifest;
  let b: Manifest;
  let stateA: string;
  let stateB: string;
  before(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 90, seed: 11 });
    for (let i = 0; i < 6; i++) writeFileSync(join(sb.home, 'level-3-cold', `blob-${i}.bin`), prngBytes(3 * 1024 * 1024, i + 1));
    a = json<Manifest>(prism(['backup', 'create', '--type', 'full', '--json'], sb.env));
    stateA = state(sb.home);
    for (let i = 0; i < 90; i += 7)
      writeFileSync(join(sb.home, ['level-1-hot', 'level-2-warm', 'level-3-cold'][i % 3]!, `shard-${i % 4}`, `doc-${i}.json`), textData(3000, 100 + i));
    rmSync(join(sb.home, 'level-2-warm', 'shard-1'), { recursive: true });
    mkdirSync(join(sb.home, 'level-1-hot', 'new-dir'));
    writeFileSync(join(sb.home, 'level-1-hot', 'new-dir', 'new.json'), '{"new":true}');
    b = json<Manifest>(prism(['backup', 'create', '--type', 'incremental', '--json'], sb.env));
    stateB = state(sb.home);
    assert.notEqual(stateA, stateB);
  });
  after(() => sb.cleanup());

  it(`leaves the data directory in the old or the new state, never a mix (${RUNS} runs)`, async (t) => {
    // how long an undisturbed restore takes, to spread the kills over it
    const t0 = Date.now();
    assert.equal(prism(['backup', 'restore', a.id, '--confirm', '--no-safety-backup'], sb.env).code, 0);
    const duration = Date.now() - t0;
    assert.equal(state(sb.home), stateA);
    let current = 'A';
    const outcomes = { old: 0, new: 0, swapsCompletedAfterKill: 0 };
    for (let run = 0; run < RUNS; run++) {
      const [id, want] = current === 'A' ? [b.id, 'B'] : [a.id, 'A'];
      const child = prismAsync(['backup', 'restore', id, '--confirm', '--no-safety-backup'], sb.env);
      const closed = new Promise((r) => child.on('close', r));
      const delay = Math.floor(duration * (0.3 + Math.random() * 0.9));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await closed;
      const health = prism(['health', 'check', 'data', '--json'], sb.env); // completes an interrupted swap
      assert.ok(health.code === 0 || health.code === 1, health.stderr);
      if (json<{ recovered_restore: boolean }>(health).recovered_restore) outcomes.swapsCompletedAfterKill++;
      const now = state(sb.home);
      assert.ok(now === stateA || now === stateB, `run ${run}: killed after ${delay} ms, the data directory is a mix of both states`);
      const reached = now === stateA ? 'A' : 'B';
      if (reached === want) outcomes.new++;
      else outcomes.old++;
      current = reached;
    }
    // the next restore resumes or starts over and completes
    const final = prism(['backup', 'restore', a.id, '--confirm', '--no-safety-backup'], sb.env);
    assert.equal(final.code, 0, final.stderr);
    assert.equal(state(sb.home), stateA);
    assert.equal(outcomes.old + outcomes.new, RUNS);
    t.diagnostic(
      `restore took ${duration} ms undisturbed; after the kills: ${outcomes.old} old state, ${outcomes.new} new state, ${outcomes.swapsCompletedAfterKill} interrupted swaps completed`,
    );
  });
});
