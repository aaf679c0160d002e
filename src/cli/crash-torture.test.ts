import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createBackup } from '../app/backups/create-backup.js';
import { loadConfig } from '../config/index.js';
import { FixedClock } from '../core/clock.js';
import { silentLogger } from '../core/logger.js';
import type { Manifest } from '../repo/index.js';
import { passwordOf, TEST_PASSWORD } from '../testing/encrypted.js';
import { hashTree, json, prism, prismAsync, prng, prngBytes, sandbox, textData, writeDataset, type Sandbox } from '../testing/fixtures.js';

/**
 * A small version of scripts/torture.mjs: `prism backup create`, `prune --max-unused 0` and
 * `cleanup` killed with SIGKILL at random moments; after every kill the repository verifies, the
 * source data is untouched, and the next backup and prune run without any manual step. On an
 * encrypted repository (`prism init --encrypt`), `key rotate --rewrite-data` is killed too, and
 * after every kill the password still opens the repository.
 */
const RUNS = Number(process.env.PRISM_TORTURE_RUNS ?? 12);
const ENCRYPTED_RUNS = Number(process.env.PRISM_TORTURE_ENCRYPTED_RUNS ?? 4);
const SEED = Number(process.env.PRISM_TORTURE_SEED ?? Date.now() % 1_000_000);
const DAY = 86_400_000;
const BLOBS = 4;

type Kind = 'create' | 'prune' | 'cleanup' | 'rotate';

tortureSuite(`kill -9 during backup create, prune and cleanup (${RUNS} runs, seed ${SEED})`, RUNS, false);
tortureSuite(
  `encrypted repository: kill -9 during backup create, prune, cleanup and key rotate --rewrite-data (${ENCRYPTED_RUNS} runs, seed ${SEED})`,
  ENCRYPTED_RUNS,
  true,
);

function tortureSuite(title: string, RUNS: number, encrypted: boolean): void {
  describe(title, () => {
    const KINDS: readonly Kind[] = encrypted ? ['create', 'prune', 'cleanup', 'rotate'] : ['create', 'prune', 'cleanup'];
    let sb: Sandbox;
    /** The sandbox's environment, with the password file and the cheapest key derivation when encrypted. */
    let env: Record<string, string>;
    let base: Manifest;
    /** Start-up time of the CLI (nothing to kill yet) and each command's undisturbed duration, learnt as runs finish. */
    let startup = 0;
    const estimate: Record<Kind, number> = { create: 0, prune: 0, cleanup: 0, rotate: 0 };
    const rnd = prng(SEED);
    before(() => {
      sb = sandbox();
      env = sb.env;
      if (encrypted) {
        const password = join(sb.root, 'password');
        writeFileSync(password, TEST_PASSWORD, { mode: 0o600 });
        env = { ...sb.env, PRISM_PASSWORD_FILE: password, PRISM_KDF_MINIMUM: '1' };
        assert.equal(prism(['init', '--encrypt'], env).code, 0);
      }
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
      const r = prism(['backup', 'create', '--type', 'full', '--json'], env);
      estimate.create = estimate.prune = estimate.cleanup = estimate.rotate = Date.now() - t0;
      assert.equal(r.code, 0, r.stderr);
      base = json<Manifest>(r);
      t0 = Date.now();
      assert.equal(prism(['backup', 'policy'], env).code, 0);
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

    const manifests = (): Manifest[] => json<Manifest[]>(prism(['backup', 'list', '--json'], env));

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
          const ctx = {
            config: loadConfig({ ...process.env, ...sb.env }),
            clock,
            logger: silentLogger,
            ...(encrypted ? { password: passwordOf(TEST_PASSWORD) } : {}),
          };
          const m = await createBackup(ctx, { type, trigger: 'scheduled' });
          assert.equal(m.status, 'completed');
        }
      } finally {
        rmSync(extra);
      }
    }

    it('after every kill: verify --all is clean, the source is untouched, the next backup and prune succeed', async (t) => {
      const killed: Record<Kind, number> = { create: 0, prune: 0, cleanup: 0, rotate: 0 };
      const finished: Record<Kind, number> = { create: 0, prune: 0, cleanup: 0, rotate: 0 };
      let creates = 0;
      // encrypted: on until a rotation was killed mid-way (one that finished first taught the estimate its duration), at most 3 more rounds
      for (let run = 0; run < RUNS || (encrypted && killed.rotate === 0 && run < RUNS + 3 * KINDS.length); run++) {
        const kind: Kind = KINDS[run % KINDS.length]!;
        mutate(run);
        let args: string[];
        if (kind === 'create') args = ['backup', 'create', '--type', creates++ % 2 === 0 ? 'full' : 'incremental', '--no-progress'];
        else if (kind === 'prune') {
          assert.ok(prism(['backup', 'create', '--type', 'incremental'], env).code === 0);
          dropManifest();
          args = ['backup', 'prune', '--max-unused', '0'];
        } else if (kind === 'cleanup') {
          await scheduledBackups(run);
          args = ['backup', 'cleanup'];
        } else args = ['key', 'rotate', '--rewrite-data'];
        const source = hashTree(sb.home);
        // a random moment, mostly after start-up, while the command works
        const from = Math.floor(startup * 0.8);
        const delay = from + Math.floor(rnd() * Math.max(50, estimate[kind] - from) * 1.1);
        const started = Date.now();
        const child = prismAsync(args, env);
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

        const verify = prism(['backup', 'verify', '--all'], env);
        assert.equal(verify.code, 0, `${what}: verify --all: ${verify.stdout}\n${verify.stderr}`);
        assert.deepEqual(hashTree(sb.home), source, `${what}: the source data changed`);
        if (encrypted) {
          const keys = prism(['key', 'list', '--json'], env);
          assert.equal(keys.code, 0, `${what}: the password no longer opens the repository: ${keys.stderr}`);
          assert.ok(
            json<{ keys: Array<{ in_use: boolean }> }>(keys).keys.some((k) => k.in_use),
            `${what}: no key file in use`,
          );
        }
        const next = prism(['backup', 'create', '--type', 'incremental', '--json'], env);
        assert.equal(next.code, 0, `${what}: the next backup: ${next.stderr}`);
        assert.equal(json<Manifest>(next).status, 'completed');
        const prune = prism(['backup', 'prune'], env);
        assert.equal(prune.code, 0, `${what}: the next prune: ${prune.stderr}`);
        const check = prism(['backup', 'verify', '--all', '--no-read-data'], env);
        assert.equal(check.code, 0, `${what}: verify after the recovery prune: ${check.stdout}\n${check.stderr}`);
        // a kill inside a write leaves a `.tmp-*` file (readers ignore them): not a lock
        assert.deepEqual(
          readdirSync(join(sb.repo, 'locks')).filter((n) => !n.startsWith('.tmp-')),
          [],
          `${what}: no lock is left behind`,
        );
      }
      if (encrypted) {
        // one more rotation finishes whatever a killed one left, and leaves no older master key
        const r = prism(['key', 'rotate', '--rewrite-data', '--json'], env);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual([json<{ packs_left: number }>(r).packs_left, json<{ older_generations: number[] }>(r).older_generations], [0, []]);
      }
      const final = prism(['backup', 'verify', '--all'], env);
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
      assert.ok(killed.create + killed.prune + killed.cleanup + killed.rotate > 0, 'at least one run was killed mid-way');
      if (encrypted) assert.ok(killed.rotate > 0, 'a key rotation was killed mid-way');
    });
  });
}
