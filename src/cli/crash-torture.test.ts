import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBackup } from '../app/backups/create-backup.js';
import { loadConfig } from '../config/index.js';
import { FixedClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import type { Manifest } from '../repo/index.js';
import { hashTree, json, prism, prismAsync, prng, prngBytes, sandbox, textData, writeDataset, type Sandbox } from '../testing/fixtures.js';

/**
 * A small version of scripts/torture.mjs: `prism backup create`, `prune --max-unused 0` and
 * `cleanup` killed with SIGKILL at random moments; after every kill the repository verifies, the
 * source data is untouched, and the next backup and prune run without any manual step.
 */
const RUNS = Number(process.env.PRISM_TORTURE_RUNS ?? 12);
const SEED = Number(process.env.PRISM_TORTURE_SEED ?? Date.now() % 1_000_000);
const DAY = 86_400_000;
const BLOBS = 4;

type Kind = 'create' | 'prune' | 'cleanup';

describe(`kill -9 during backup create, prune and cleanup (${RUNS} runs, seed ${SEED})`, () => {
  let sb: Sandbox;
  let base: Manifest;
  /** Start-up time of the CLI (nothing to kill yet) and each command's undisturbed duration, learnt as runs finish. */
  let startup = 0;
  const estimate: Record<Kind, number> = { create: 0, prune: 0, cleanup: 0 };
  const rnd = prng(SEED);
  before(() => {
    sb = sandbox();
    writeDataset(sb.home, { files: 40, seed: SEED });
    for (let i = 0; i < BLOBS; i++) writeFileSync(join(sb.home, 'level-3-cold', `blob-${i}.bin`), prngBytes(2 * 1024 * 1024, SEED + i + 1));
    // retention that removes scheduled backups older than a day beyond the newest one of each type
    writeFileSync(
      join(sb.home, 'config', 'backup.json'),
      JSON.stringify({
        backup: { retention_policy: { full_backups_count: 1, full_backups_age_days: 1, incremental_backups_count: 1, incremental_backups_age_days: 1 } },
      }),
    );
    let t0 = Date.now();
    const r = prism(['backup', 'create', '--type', 'full', '--json'], sb.env);
    estimate.create = estimate.prune = estimate.cleanup = Date.now() - t0;
    assert.equal(r.code, 0, r.stderr);
    base = json<Manifest>(r);
    t0 = Date.now();
    assert.equal(prism(['backup', 'policy'], sb.env).code, 0);
    startup = Date.now() - t0;
  });
  after(() => sb.cleanup());

  /** Some files change between runs: one random blob rewritten, two documents rewritten, one file added. */
  function mutate(run: number): void {
    writeFileSync(join(sb.home, 'level-3-cold', `blob-${run % BLOBS}.bin`), prngBytes(2 * 1024 * 1024, SEED * 7 + run));
    for (const k of [run % 40, (run * 7 + 3) % 40]) {
      writeFileSync(
        join(sb.home, ['level-1-hot', 'level-2-warm', 'level-3-cold'][k % 3]!, `shard-${k % 4}`, `doc-${k}.json`),
        textData(3000 + run * 10, SEED + 1000 + run + k),
      );
    }
    writeFileSync(join(sb.home, 'level-2-warm', `run-${run}.json`), textData(1500, SEED + run));
  }

  const manifests = (): Manifest[] => json<Manifest[]>(prism(['backup', 'list', '--json'], sb.env));

  /** Work for prune: a completed backup's manifest deleted (never the base full, never the newest). */
  function dropManifest(): string | undefined {
    const done = manifests().filter((m) => m.status === 'completed');
    const candidates = done.slice(1).filter((m) => m.id !== base.id);
    const victim = candidates[Math.floor(rnd() * candidates.length)];
    if (victim) rmSync(join(sb.repo, 'snapshots', `${victim.id}.json`));
    return victim?.id;
  }

  /** Work for cleanup: two scheduled backups dated 10 days ago, holding data nothing else holds. */
  async function scheduledBackups(run: number): Promise<void> {
    const extra = join(sb.home, 'level-3-cold', 'scheduled-only.bin');
    writeFileSync(extra, prngBytes(1024 * 1024, SEED * 13 + run));
    try {
      for (const [i, type] of (['full', 'incremental'] as const).entries()) {
        const clock = new FixedClock(new Date(Date.now() - 10 * DAY + run * 60_000 + i * 1000));
        const m = await createBackup({ config: loadConfig({ ...process.env, ...sb.env }), clock, logger: silentLogger }, { type, trigger: 'scheduled' });
        assert.equal(m.status, 'completed');
      }
    } finally {
      rmSync(extra);
    }
  }

  it('after every kill: verify --all is clean, the source is untouched, the next backup and prune succeed', async (t) => {
    const killed: Record<Kind, number> = { create: 0, prune: 0, cleanup: 0 };
    const finished: Record<Kind, number> = { create: 0, prune: 0, cleanup: 0 };
    let creates = 0;
    for (let run = 0; run < RUNS; run++) {
      const kind: Kind = (['create', 'prune', 'cleanup'] as const)[run % 3]!;
      mutate(run);
      let args: string[];
      if (kind === 'create') args = ['backup', 'create', '--type', creates++ % 2 === 0 ? 'full' : 'incremental', '--no-progress'];
      else if (kind === 'prune') {
        assert.ok(prism(['backup', 'create', '--type', 'incremental'], sb.env).code === 0);
        dropManifest();
        args = ['backup', 'prune', '--max-unused', '0'];
      } else {
        await scheduledBackups(run);
        args = ['backup', 'cleanup'];
      }
      const source = hashTree(sb.home);
      // a random moment, mostly after start-up, while the command works
      const from = Math.floor(startup * 0.8);
      const delay = from + Math.floor(rnd() * Math.max(50, estimate[kind] - from) * 1.1);
      const started = Date.now();
      const child = prismAsync(args, sb.env);
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('close', (code, signal) => resolve({ code, signal })),
      );
      const timer = setTimeout(() => child.kill('SIGKILL'), delay);
      const end = await closed;
      clearTimeout(timer);
      const what = `run ${run} (seed ${SEED}): ${args.join(' ')} killed after ${delay} ms`;
      if (end.signal === 'SIGKILL') killed[kind]++;
      else {
        assert.equal(end.code, 0, `${what}: it finished before the kill but failed: ${stderr}`);
        finished[kind]++;
        estimate[kind] = Date.now() - started;
      }

      const verify = prism(['backup', 'verify', '--all'], sb.env);
      assert.equal(verify.code, 0, `${what}: verify --all: ${verify.stdout}\n${verify.stderr}`);
      assert.deepEqual(hashTree(sb.home), source, `${what}: the source data changed`);
      const next = prism(['backup', 'create', '--type', 'incremental', '--json'], sb.env);
      assert.equal(next.code, 0, `${what}: the next backup: ${next.stderr}`);
      assert.equal(json<Manifest>(next).status, 'completed');
      const prune = prism(['backup', 'prune'], sb.env);
      assert.equal(prune.code, 0, `${what}: the next prune: ${prune.stderr}`);
      const check = prism(['backup', 'verify', '--all', '--no-read-data'], sb.env);
      assert.equal(check.code, 0, `${what}: verify after the recovery prune: ${check.stdout}\n${check.stderr}`);
      // a kill inside a write leaves a `.tmp-*` file (readers ignore them): not a lock
      assert.deepEqual(
        readdirSync(join(sb.repo, 'locks')).filter((n) => !n.startsWith('.tmp-')),
        [],
        `${what}: no lock is left behind`,
      );
    }
    const final = prism(['backup', 'verify', '--all'], sb.env);
    assert.equal(final.code, 0, final.stderr);
    const list = manifests();
    assert.ok(
      list.some((m) => m.id === base.id && m.status === 'completed'),
      'the base full backup survived everything',
    );
    assert.ok(existsSync(join(sb.repo, 'config.json')));
    const litter = ['locks', 'snapshots', 'index', 'data'].flatMap((d) =>
      readdirSync(join(sb.repo, d), { recursive: true })
        .map(String)
        .filter((n) => n.split('/').pop()!.startsWith('.tmp-'))
        .map((n) => `${d}/${n}`),
    );
    t.diagnostic(`temporary files left by killed writes: ${litter.length ? litter.join(', ') : 'none'}`);
    t.diagnostic(
      `seed ${SEED}; start-up ${startup} ms; durations ${JSON.stringify(estimate)}; killed: ${JSON.stringify(killed)}; finished before the kill: ${JSON.stringify(finished)}; ${list.length} backups at the end`,
    );
    assert.ok(killed.create + killed.prune + killed.cleanup > 0, 'at least one run was killed mid-way');
  });
});
