#!/usr/bin/env node
// Crash torture for prism: `prism backup create`, `prism backup prune --max-unused 0` and
// `prism backup cleanup` (and, with --encrypted, `prism key rotate --rewrite-data`) are started
// as child processes of the built CLI (bin/prism.js) and killed with SIGKILL at a random moment.
// After every kill:
//   - `prism backup verify --all` exits 0 (every remaining backup verifies),
//   - the source data is unchanged (hash of every file before vs after),
//   - the next `prism backup create --type incremental` and `prism backup prune` succeed
//     without any manual step (no lock removed by hand), and the repository still checks,
//   - with --encrypted: the password still opens the repository (`prism key list`).
//
// usage: npm run torture -- [--runs N] [--seed S] [--keep] [--encrypted] [--backend KIND]
//   --runs N      number of kills (default 100)
//   --seed S      seed of the random choices and data (default: time based; printed)
//   --keep        keep the temporary directory (otherwise it is removed at the end)
//   --encrypted   the repository is created by `prism init --encrypt` (every child gets
//                 PRISM_PASSWORD_FILE and PRISM_KDF_MINIMUM=1), and every fourth run kills a
//                 `prism key rotate --rewrite-data`
//   --backend KIND  the repository lives on a test server: s3 (Ceph RGW), azure (Azurite) or
//                 sftp (sshd), started by `node scripts/servers.mjs start` (default: local)
//
// Needs a build (`npm run build`). The scheduled backups that give `cleanup` something to
// remove are made in this process through dist/ (the CLI only makes manual backups, which
// cleanup never removes).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'prism.js');
const DIST = join(ROOT, 'dist');
const DAY = 86_400_000;
const BLOBS = 6;
const BLOB_BYTES = 2 * 1024 * 1024;

function parseArgs(argv) {
  const opts = { runs: 100, seed: Date.now() % 1_000_000, keep: false, encrypted: false, backend: 'local' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined || !/^\d+$/.test(v)) usage(`${a} needs a whole number`);
      return Number(v);
    };
    if (a === '--runs') opts.runs = value();
    else if (a.startsWith('--runs=')) opts.runs = Number(a.slice(7));
    else if (a === '--seed') opts.seed = value();
    else if (a.startsWith('--seed=')) opts.seed = Number(a.slice(7));
    else if (a === '--keep') opts.keep = true;
    else if (a === '--encrypted') opts.encrypted = true;
    else if (a === '--backend') opts.backend = argv[++i];
    else if (a.startsWith('--backend=')) opts.backend = a.slice(10);
    else if (a === '--help' || a === '-h') usage();
    else usage(`unknown argument ${a}`);
  }
  if (!Number.isInteger(opts.runs) || opts.runs < 1) usage('--runs must be at least 1');
  if (!Number.isInteger(opts.seed)) usage('--seed must be a whole number');
  if (!['local', 's3', 'azure', 'sftp'].includes(opts.backend)) usage('--backend is one of local, s3, azure, sftp');
  return opts;
}

function usage(error) {
  if (error) console.error(`torture: ${error}`);
  console.error('usage: node scripts/torture.mjs [--runs N] [--seed S] [--keep] [--encrypted] [--backend local|s3|azure|sftp]');
  process.exit(error ? 2 : 0);
}

/** relative path → sha256 of every regular file under dir (logs/ and temp/ are not backed up). */
function hashTree(dir, prefix = '') {
  const out = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!prefix && (e.name === 'logs' || e.name === 'temp')) continue;
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...hashTree(join(dir, e.name), rel));
    else if (e.isFile())
      out.push(
        `${rel} ${createHash('sha256')
          .update(readFileSync(join(dir, e.name)))
          .digest('hex')}`,
      );
  }
  return prefix ? out : out.sort().join('\n');
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(join(DIST, 'app', 'index.js'))) {
    console.error('torture: dist/ is missing; run `npm run build` first');
    process.exit(2);
  }
  const root = mkdtempSync(join(tmpdir(), 'prism-torture-'));
  const cleanup = () => {
    if (!opts.keep) rmSync(root, { recursive: true, force: true });
  };
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.on(sig, () => {
      cleanup();
      process.exit(130);
    });
  }
  return torture(opts, root)
    .catch((e) => {
      console.error(`torture: ${e?.stack ?? e}`);
      return 1;
    })
    .then((code) => {
      // a failure keeps its evidence
      if (code !== 0) opts.keep = true;
      cleanup();
      if (opts.keep) console.log(`kept ${root}`);
      process.exitCode = code;
    });
}

async function torture(opts, root) {
  const { createBackup } = await import(pathToFileURL(join(DIST, 'app', 'index.js')).href);
  const { loadConfig } = await import(pathToFileURL(join(DIST, 'config', 'index.js')).href);
  const { FixedClock } = await import(pathToFileURL(join(DIST, 'core', 'clock.js')).href);
  const { silentLogger } = await import(pathToFileURL(join(DIST, 'core', 'logger.js')).href);
  const { prng, prngBytes: randomBytes, textData } = await import(pathToFileURL(join(DIST, 'testing', 'fixtures.js')).href);

  const home = join(root, 'home');
  let repo = join(root, 'repo');
  const env = { ...process.env, PRISM_HOME: home, PRISM_BACKUP_PATH: repo, PRISM_BACKUP_VERBOSE: '' };
  let remote;
  if (opts.backend !== 'local') {
    const { remoteRepo } = await import(pathToFileURL(join(DIST, 'testing', 'remote-repos.js')).href);
    remote = await remoteRepo(opts.backend, `torture-${opts.backend}`);
    repo = remote.location;
    Object.assign(env, remote.env, { PRISM_BACKUP_PATH: repo });
    Object.assign(process.env, remote.env); // the scheduled backups made in this process reach the store too
  }
  const { openBackend } = await import(pathToFileURL(join(DIST, 'repo', 'index.js')).href);
  const store = await openBackend(repo, env);
  const names = async (dir) => (await store.list(dir)).map((o) => o.name);
  const PASSWORD = `torture-password-${opts.seed}`;
  if (opts.encrypted) {
    const file = join(root, 'password');
    writeFileSync(file, `${PASSWORD}\n`, { mode: 0o600 });
    Object.assign(env, { PRISM_PASSWORD_FILE: file, PRISM_KDF_MINIMUM: '1' });
  }
  const rnd = prng(opts.seed);
  const prism = (args) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: 'utf8' });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  const list = () => JSON.parse(prism(['backup', 'list', '--json']).stdout);

  // the data directory: gateway-like documents and some larger binary files
  for (const d of ['level-1-hot', 'level-2-warm', 'level-3-cold', 'config', 'logs']) mkdirSync(join(home, d), { recursive: true });
  const docPath = (k) => join(home, ['level-1-hot', 'level-2-warm', 'level-3-cold'][k % 3], `shard-${k % 4}`, `doc-${k}.json`);
  for (let k = 0; k < 60; k++) {
    mkdirSync(join(docPath(k), '..'), { recursive: true });
    writeFileSync(docPath(k), textData(2000 + k * 300, opts.seed + k));
  }
  for (let i = 0; i < BLOBS; i++) writeFileSync(join(home, 'level-3-cold', `blob-${i}.bin`), randomBytes(BLOB_BYTES, opts.seed * 3 + i + 1));
  // a retention policy under which scheduled backups older than a day (beyond the newest) go
  writeFileSync(
    join(home, 'config', 'backup.json'),
    JSON.stringify(
      { backup: { retention_policy: { full_backups_count: 1, full_backups_age_days: 1, incremental_backups_count: 1, incremental_backups_age_days: 1 } } },
      null,
      2,
    ),
  );

  if (opts.encrypted) {
    const init = prism(['init', '--encrypt']);
    if (init.code !== 0) throw new Error(`prism init --encrypt failed: ${init.stderr}`);
  }
  let t0 = Date.now();
  const first = prism(['backup', 'create', '--type', 'full', '--json']);
  if (first.code !== 0) throw new Error(`the first backup failed: ${first.stderr}`);
  const baseId = JSON.parse(first.stdout).id;
  const took = Date.now() - t0;
  const estimate = { create: took, prune: took, cleanup: took, rotate: took };
  t0 = Date.now();
  prism(['backup', 'policy']);
  const startup = Date.now() - t0;
  console.log(
    `prism torture: ${opts.runs} runs, seed ${opts.seed}${opts.encrypted ? ', encrypted repository' : ''}, in ${root}${remote ? `, repository ${repo}` : ''}`,
  );
  console.log(`data: 60 documents + ${BLOBS} x ${BLOB_BYTES / 1048576} MiB; CLI start-up ${startup} ms, full backup ${estimate.create} ms`);

  const mutate = (run) => {
    writeFileSync(join(home, 'level-3-cold', `blob-${run % BLOBS}.bin`), randomBytes(BLOB_BYTES, opts.seed * 7 + run + 1));
    for (const k of [run % 60, (run * 7 + 3) % 60]) writeFileSync(docPath(k), textData(2500 + (run % 50) * 10, opts.seed + 1000 + run + k));
    writeFileSync(join(home, 'level-2-warm', `run-${run % 20}.json`), textData(1500, opts.seed + run));
  };
  const dropManifest = async () => {
    const done = list().filter((m) => m.status === 'completed' && m.id !== baseId);
    const candidates = done.slice(1); // never the newest
    const victim = candidates[Math.floor(rnd() * candidates.length)];
    if (victim) await store.delete(`snapshots/${victim.id}.json`);
    return victim?.id;
  };
  const scheduledBackups = async (run) => {
    const extra = join(home, 'level-3-cold', 'scheduled-only.bin');
    writeFileSync(extra, randomBytes(1024 * 1024, opts.seed * 13 + run + 1));
    try {
      for (const [i, type] of ['full', 'incremental'].entries()) {
        const clock = new FixedClock(new Date(Date.now() - 10 * DAY + run * 60_000 + i * 1000));
        const ctx = {
          config: loadConfig(env),
          clock,
          logger: silentLogger,
          ...(opts.encrypted ? { password: { origin: 'torture', read: async () => Buffer.from(PASSWORD) } } : {}),
        };
        const m = await createBackup(ctx, { type, trigger: 'scheduled' });
        if (m.status !== 'completed') throw new Error(`scheduled backup ${m.id} is ${m.status}`);
      }
    } finally {
      rmSync(extra, { force: true });
    }
  };

  const killed = { create: 0, prune: 0, cleanup: 0, rotate: 0 };
  const finished = { create: 0, prune: 0, cleanup: 0, rotate: 0 };
  const kinds = opts.encrypted ? ['create', 'prune', 'cleanup', 'rotate'] : ['create', 'prune', 'cleanup'];
  let verifyClean = true;
  let nextOk = true;
  let creates = 0;
  let runsDone = 0;
  let failedRuns = 0;
  const width = String(opts.runs).length;
  for (let run = 0; run < opts.runs; run++) {
    const kind = kinds[run % kinds.length];
    mutate(run);
    let args;
    let prep = '';
    if (kind === 'create') args = ['backup', 'create', '--type', creates++ % 2 === 0 ? 'full' : 'incremental', '--no-progress'];
    else if (kind === 'prune') {
      const inc = prism(['backup', 'create', '--type', 'incremental']);
      if (inc.code !== 0) throw new Error(`run ${run}: preparing a backup failed: ${inc.stderr}`);
      const dropped = await dropManifest();
      prep = dropped ? ' (1 dropped)' : '';
      args = ['backup', 'prune', '--max-unused', '0'];
    } else if (kind === 'cleanup') {
      await scheduledBackups(run);
      args = ['backup', 'cleanup'];
    } else {
      // a new master key, and every pack rewritten under it (or, after a killed one, its work finished)
      args = ['key', 'rotate', '--rewrite-data'];
    }
    const before = hashTree(home);
    // a random moment, mostly after the CLI has started, while the command works
    const from = Math.floor(startup * 0.8);
    const delay = from + Math.floor(rnd() * Math.max(50, estimate[kind] - from) * 1.1);
    const started = Date.now();
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), delay);
    const end = await new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    clearTimeout(timer);

    const problems = [];
    let outcome;
    if (end.signal === 'SIGKILL') {
      killed[kind]++;
      outcome = `killed after ${delay} ms`;
    } else {
      finished[kind]++;
      estimate[kind] = Date.now() - started;
      outcome = `finished in ${estimate[kind]} ms before the kill`;
      if (end.code !== 0) problems.push(`it exited ${end.code}: ${stderr.trim()}`);
    }
    const verify = prism(['backup', 'verify', '--all']);
    if (verify.code !== 0) {
      verifyClean = false;
      problems.push(`verify --all exited ${verify.code}: ${(verify.stdout + verify.stderr).trim().split('\n').slice(-5).join(' | ')}`);
    }
    if (hashTree(home) !== before) problems.push('the source data changed');
    if (opts.encrypted) {
      const keys = prism(['key', 'list', '--json']);
      if (keys.code !== 0 || !JSON.parse(keys.stdout).keys.some((k) => k.in_use))
        problems.push(`the password no longer opens the repository: ${keys.stderr.trim()}`);
    }
    const next = prism(['backup', 'create', '--type', 'incremental', '--no-progress']);
    const prune = prism(['backup', 'prune']);
    const check = prism(['backup', 'verify', '--all', '--no-read-data']);
    const leftLocks = (await names('locks')).filter((n) => !n.split('/').pop().startsWith('.tmp-'));
    if (next.code !== 0 || prune.code !== 0 || check.code !== 0 || leftLocks.length > 0) {
      nextOk = false;
      if (next.code !== 0) problems.push(`next backup exited ${next.code}: ${next.stderr.trim()}`);
      if (prune.code !== 0) problems.push(`next prune exited ${prune.code}: ${prune.stderr.trim()}`);
      if (check.code !== 0) {
        problems.push(`verify after the next prune exited ${check.code}: ${(check.stdout + check.stderr).trim().split('\n').slice(-5).join(' | ')}`);
        console.log(prism(['backup', 'verify', '--all', '--no-read-data', '--verbose']).stdout);
        console.log(`next backup: ${next.stderr}\nnext prune: ${prune.stderr}`);
      }
      if (leftLocks.length > 0) problems.push(`locks left: ${leftLocks.join(', ')}`);
    }
    runsDone++;
    const label = `${args.slice(1, 4).join(' ')}${prep}`;
    console.log(
      `run ${String(run + 1).padStart(width)}/${opts.runs}  ${label.padEnd(28)} ${outcome}; ${problems.length === 0 ? `verify ok, source unchanged, next backup+prune ok${opts.encrypted ? ', password opens' : ''}` : `FAILED: ${problems.join('; ')}`}`,
    );
    if (problems.length > 0) {
      failedRuns++;
      break; // the repository is no longer a known-good start for the next run
    }
  }

  const final = prism(['backup', 'verify', '--all']);
  if (final.code !== 0) verifyClean = false;
  let rotated = true;
  if (opts.encrypted && runsDone === opts.runs) {
    // one more rotation finishes whatever a killed one left, and leaves no older master key
    const r = prism(['key', 'rotate', '--rewrite-data', '--json']);
    const out = r.code === 0 ? JSON.parse(r.stdout) : undefined;
    rotated = out !== undefined && out.packs_left === 0 && out.older_generations.length === 0 && prism(['backup', 'verify', '--all']).code === 0;
    if (!rotated) console.log(`the final key rotate: exit ${r.code}: ${r.stdout}${r.stderr}`);
  }
  // temporary files of killed writes (a local disk; an object store has none: an object is one PUT)
  const litter = remote
    ? []
    : [...['locks', 'snapshots', 'index', 'data'], ...(opts.encrypted ? ['keys', 'keyring'] : [])].flatMap((d) =>
        readdirSync(join(repo, d), { recursive: true })
          .map(String)
          .filter((n) => n.split('/').pop().startsWith('.tmp-'))
          .map((n) => `${d}/${n}`),
      );
  const backups = list();
  console.log(
    `finished before the kill (not counted as kills): ${finished.create} backups, ${finished.prune} prunes, ${finished.cleanup} cleanups${opts.encrypted ? `, ${finished.rotate} key rotations` : ''}; ` +
      `${backups.length} backups at the end (${backups.filter((m) => m.status === 'completed').length} completed); temporary files left by killed writes: ${litter.length}`,
  );
  const ok = verifyClean && nextOk && rotated && failedRuns === 0 && runsDone === opts.runs;
  if (runsDone < opts.runs) console.log(`stopped after run ${runsDone} of ${opts.runs} (seed ${opts.seed})`);
  console.log(
    `${runsDone} runs: ${killed.create} backups, ${killed.prune} prunes, ${killed.cleanup} cleanups${opts.encrypted ? `, ${killed.rotate} key rotations` : ''} killed; verify clean after every kill: ${verifyClean ? 'yes' : 'no'}; next backup+prune ok: ${nextOk ? 'yes' : 'no'}${opts.encrypted ? `; final key rotate ok: ${rotated ? 'yes' : 'no'}` : ''}`,
  );
  if (remote && ok && !opts.keep) await remote.cleanup();
  const { closeConnections } = await import(pathToFileURL(join(DIST, 'core', 'open-connections.js')).href);
  await closeConnections();
  return ok ? 0 : 1;
}

await main();
