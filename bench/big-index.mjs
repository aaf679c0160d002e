#!/usr/bin/env node
// bench/big-index.mjs — opening a repository of many chunks, and a no-change backup into it:
// wall time and peak RSS against the target "under 2 s and 200 MiB" at 10 million chunks.
//
//   node bench/big-index.mjs [--chunks N] [--encrypt] [--per-file N] [--size 20M] [--seed S] [--reps R] [--keep]
//   npm run bench:index [-- OPTIONS]
//
//   --chunks N     index entries in all (default 10,000,000; k / M suffixes: 200k, 10M)
//   --encrypt      an encrypted repository (`prism init --encrypt`, password from a
//                  PRISM_PASSWORD_FILE, key derivation calibrated as for a real repository)
//   --per-file N   entries per synthetic index file (default 100,000: one file per backup that
//                  stored that many chunks; a pruned repository has one file: --per-file 10M,
//                  which builds the 10M entries in memory here, ~2.5 GB)
//   --size SIZE    the data set actually backed up (gen-dataset.mjs, default 20M)
//   --seed S       its seed (default 1)
//   --reps R       runs of each timed step (default 3; the median wall time and the largest RSS)
//   --keep         keep the work tree (PRISM_HOME and repository) in the results directory
//
// How: a real repository is made by a full backup of the data set (PRISM_HOME = a copy of it,
// PRISM_BACKUP_PATH = the repository), then index files with N − (real entries) synthetic entries
// are added by the repository's own code (Repository.writeIndex from dist/: the index format and,
// with --encrypt, its sealing), each a random 32-byte id located at a real data blob of an
// existing pack: the index is well-formed and every entry points at stored bytes (`verify --all`
// would find that the synthetic ids do not match them). Timed, `sync` before each, under
// /usr/bin/time -v:
//   open   `prism backup list` (config, key derivation when encrypted, the backups' manifests)
//   noop   `prism backup create --type incremental --no-progress` with nothing changed (it loads
//          the whole index)
// Prints a table and writes it to $PBENCH_ROOT/big-index/<UTC timestamp>/results.md, with
// results.tsv, env.txt and logs/. Index bytes per entry = bytes of index/ on disk / entries.
// Environment: PBENCH_ROOT (default /tmp/pbench), PRISM_CMD (default <repo>/bin/prism.js).
// Needs a build (npm run build: dist/ and dist/bundle/) and GNU time (/usr/bin/time).
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs, parseCount } from './harness/lib-synth.mjs';

const BENCH = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH, '..');
const USAGE = 'usage: node bench/big-index.mjs [--chunks N] [--encrypt] [--per-file N] [--size 20M] [--seed S] [--reps R] [--keep]';
const o = parseArgs(process.argv.slice(2), { chunks: '10M', encrypt: false, 'per-file': '100k', size: '20M', seed: '1', reps: '3', keep: false, help: false });
const die = (msg) => {
  console.error(`bench:index: ${msg}`);
  process.exit(2);
};
if (o.help) {
  // the comment at the top of this file
  const head = fs.readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n');
  console.log(
    head
      .slice(
        1,
        head.findIndex((l) => l.startsWith('import ')),
      )
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n'),
  );
  process.exit(0);
}
if (o._?.length) die(`unexpected argument '${o._[0]}'\n${USAGE}`);
let CHUNKS, PER_FILE;
try {
  CHUNKS = parseCount(o.chunks);
  PER_FILE = parseCount(o['per-file']);
} catch (e) {
  die(`${e.message}\n${USAGE}`);
}
const REPS = Number(o.reps);
if (!Number.isInteger(REPS) || REPS < 1) die(`--reps must be a positive integer, got '${o.reps}'`);
if (!/^\d+$/.test(String(o.seed))) die(`--seed must be a non-negative integer, got '${o.seed}'`);
if (!fs.existsSync('/usr/bin/time')) die('/usr/bin/time (GNU time) is required: apt-get install time');
if (!fs.existsSync(path.join(ROOT, 'dist/repo/index.js')) || !fs.existsSync(path.join(ROOT, 'dist/bundle/main.js')))
  die(`no build in ${ROOT}/dist: run npm run build first`);

const PBENCH_ROOT = process.env.PBENCH_ROOT || '/tmp/pbench';
const PRISM = (process.env.PRISM_CMD || path.join(ROOT, 'bin/prism.js')).split(' ').filter(Boolean);
const RUN_ID = new Date()
  .toISOString()
  .replace(/[-:]/g, '')
  .replace(/\.\d+Z$/, 'Z');
const OUT = path.join(PBENCH_ROOT, 'big-index', RUN_ID + (fs.existsSync(path.join(PBENCH_ROOT, 'big-index', RUN_ID)) ? `-${process.pid}` : ''));
const WORK = path.join(OUT, 'work');
const SRC = path.join(WORK, 'src'),
  REPO = path.join(WORK, 'repo'),
  SECRETS = path.join(WORK, 'secrets');
const LOGS = path.join(OUT, 'logs');
fs.mkdirSync(LOGS, { recursive: true });
fs.mkdirSync(path.join(WORK, 'home'), { recursive: true });

// the data set, as bench/run.sh finds or makes it
const DATASET = path.join(PBENCH_ROOT, 'data', `ds-${o.size}-s${o.seed}`);
if (!fs.existsSync(`${DATASET}.meta.json`)) {
  console.log(`== generating ${DATASET}`);
  execFileSync(process.execPath, [path.join(BENCH, 'harness/gen-dataset.mjs'), '--size', o.size, '--seed', String(o.seed), '--out', DATASET, '--quiet'], {
    stdio: 'inherit',
  });
}
execFileSync('cp', ['-a', DATASET, SRC]);

// every prism command sees this environment (HOME too: nothing of the run outside OUT)
const env = { ...process.env, PRISM_HOME: SRC, PRISM_BACKUP_PATH: REPO, HOME: path.join(WORK, 'home') };
for (const k of ['PRISM_PASSWORD', 'PRISM_PASSWORD_COMMAND', 'PRISM_PASSWORD_FILE', 'PRISM_KDF_MINIMUM', 'PRISM_BACKUP_VERBOSE']) delete env[k];
if (o.encrypt) {
  const cfgFile = path.join(SRC, 'config/backup.json');
  const cfg = fs.existsSync(cfgFile) ? JSON.parse(fs.readFileSync(cfgFile, 'utf8')) : {};
  ((cfg.backup ??= {}).encryption ??= {}).enabled = true;
  fs.mkdirSync(path.dirname(cfgFile), { recursive: true });
  fs.writeFileSync(cfgFile, JSON.stringify(cfg, null, 2) + '\n');
  fs.mkdirSync(SECRETS, { mode: 0o700 });
  fs.writeFileSync(path.join(SECRETS, 'password'), 'pbench-password\n', { mode: 0o600 });
  env.PRISM_PASSWORD_FILE = path.join(SECRETS, 'password');
}

/** Runs prism with `args` under /usr/bin/time -v: wall seconds, peak RSS in KiB, exit status. */
function prism(name, args) {
  const log = path.join(LOGS, `${name}.log`),
    tf = path.join(WORK, 'time.txt');
  spawnSync('sync');
  const fd = fs.openSync(log, 'w');
  const t0 = performance.now();
  const r = spawnSync('/usr/bin/time', ['-v', '-o', tf, ...PRISM, ...args], { env, stdio: ['ignore', fd, fd] });
  const wall = (performance.now() - t0) / 1000;
  fs.closeSync(fd);
  const time = fs.existsSync(tf) ? fs.readFileSync(tf, 'utf8') : '';
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(time)?.[1] ?? NaN);
  const rc = r.status ?? 1;
  if (rc !== 0) console.log(`    !! prism ${args.join(' ')} failed (rc=${rc}), see ${log}:\n${tail(log)}`);
  return { wall, rss, rc };
}
const tail = (file) =>
  fs
    .readFileSync(file, 'utf8')
    .trimEnd()
    .split('\n')
    .slice(-5)
    .map((l) => `    | ${l}`)
    .join('\n');
const dirBytes = (dir) => (fs.existsSync(dir) ? fs.readdirSync(dir).reduce((s, n) => s + fs.statSync(path.join(dir, n)).size, 0) : 0);
const fail = (what) => {
  console.error(`bench:index: ${what} failed; logs in ${LOGS}`);
  process.exit(1);
};

console.log(
  `bench:index: ${CHUNKS.toLocaleString('en-US')} chunks${o.encrypt ? ', encrypted' : ''}, ${PER_FILE.toLocaleString('en-US')} per index file; results: ${OUT}`,
);
// ---- the real repository: created (encrypted: by `prism init --encrypt`), one full backup
if (o.encrypt && prism('init', ['init', '--encrypt']).rc !== 0) fail('prism init --encrypt');
const full = prism('full', ['backup', 'create', '--type', 'full', '--no-progress']);
if (full.rc !== 0) fail('the full backup');
console.log(`  full backup of ${path.basename(DATASET)}: ${full.wall.toFixed(2)} s (untimed preparation)`);

// ---- synthetic index entries, written by the repository's own index writer
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).href);
const { Repository, openBackend, BLOB_TYPE } = await dist('repo/index.js');
const { systemClock } = await dist('core/clock.js');
const { passwordSourceFromEnv } = await dist('config/password-sources.js');
const t0 = performance.now();
const password = passwordSourceFromEnv(env);
const repo = await Repository.open(await openBackend(REPO, env), systemClock, password ? { password } : {});
const index = await repo.loadIndex();
const real = index.size;
let at;
for (const b of index.entries())
  if (b.type === BLOB_TYPE.data) {
    at = b;
    break;
  }
if (!at) fail('finding a data blob in the index');
let added = 0;
const files = Math.ceil(Math.max(0, CHUNKS - real) / PER_FILE);
for (let f = 0; f < files; f++) {
  const n = Math.min(PER_FILE, CHUNKS - real - added);
  const ids = randomBytes(32 * n);
  const blobs = new Array(n);
  // one literal shape (~190 bytes an entry in this process; a spread copy takes 2.5 times that)
  for (let i = 0; i < n; i++)
    blobs[i] = {
      id: ids.toString('hex', 32 * i, 32 * i + 32),
      type: at.type,
      pack: at.pack,
      codec: at.codec,
      frameOffset: at.frameOffset,
      frameLength: at.frameLength,
      frameRawLength: at.frameRawLength,
      blobOffset: at.blobOffset,
      blobLength: at.blobLength,
    };
  // a fresh Repository per file (the keys already unlocked): writeIndex also adds the entries to
  // the in-memory index, which this process does not need to keep
  const writer = await Repository.open(await openBackend(REPO, env), systemClock, repo.unlocked ? { unlocked: repo.unlocked } : {});
  await writer.writeIndex(blobs);
  added += n;
  if (files > 10 && (f + 1) % Math.ceil(files / 10) === 0) console.log(`  ${added.toLocaleString('en-US')} entries added`);
}
const entries = real + added;
const indexFiles = fs.readdirSync(path.join(REPO, 'index')).length;
const indexBytes = dirBytes(path.join(REPO, 'index'));
console.log(
  `  index: ${real.toLocaleString('en-US')} real + ${added.toLocaleString('en-US')} synthetic entries in ${indexFiles} files, ${(indexBytes / 2 ** 20).toFixed(1)} MiB, written in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
);

// ---- timed steps
const STEPS = [
  ['open', ['backup', 'list']],
  ['noop', ['backup', 'create', '--type', 'incremental', '--no-progress']],
];
const rows = [];
for (let rep = 1; rep <= REPS; rep++)
  for (const [step, args] of STEPS) {
    const m = prism(`${step}.rep${rep}`, args);
    rows.push({ step, rep, ...m });
    console.log(`  ${step.padEnd(5)} rep ${rep}: wall=${m.wall.toFixed(3)} s rss=${m.rss} kB rc=${m.rc}`);
  }

// ---- results
const median = (a) => {
  const s = [...a].sort((x, y) => x - y),
    m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const MiB = 2 ** 20;
const fmt = (n) => n.toLocaleString('en-US');
const dataset = JSON.parse(fs.readFileSync(`${DATASET}.meta.json`, 'utf8'));
const commit = (() => {
  try {
    return execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
})();
const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const md = [
  `## Repository of ${fmt(entries)} chunks${o.encrypt ? ' (encrypted)' : ''}: open and no-change backup`,
  '',
  `${fmt(real)} real entries (a full backup of ${path.basename(DATASET)}: ${fmt(dataset.includedFiles)} files, ${(dataset.includedBytes / MiB).toFixed(1)} MiB) + ${fmt(added)} synthetic ones in ${fmt(indexFiles)} index files of up to ${fmt(PER_FILE)} entries (${(indexBytes / MiB).toFixed(1)} MiB on disk: **${(indexBytes / entries).toFixed(2)} bytes per entry**). ` +
    `${REPS} run${REPS === 1 ? '' : 's'} per step (median wall time, largest peak RSS), warm page cache; prism ${commit}, node ${process.version}, load average after: ${load}.`,
  '',
  '| step | command | wall (s) | peak RSS (MiB) | target | failed runs |',
  '|---|---|---:|---:|---|---:|',
];
for (const [step, args] of STEPS) {
  const rs = rows.filter((r) => r.step === step),
    good = rs.filter((r) => r.rc === 0);
  const wall = good.length ? median(good.map((r) => r.wall)) : NaN,
    rss = good.length ? Math.max(...good.map((r) => r.rss)) : NaN;
  const meets = good.length
    ? wall < 2 && rss * 1024 < 200 * MiB
      ? 'met (< 2 s, < 200 MiB)'
      : `missed (${[wall >= 2 ? '≥ 2 s' : '', rss * 1024 >= 200 * MiB ? '≥ 200 MiB' : ''].filter(Boolean).join(', ')})`
    : '–';
  md.push(
    `| ${step} | \`prism ${args.join(' ')}\` | ${good.length ? wall.toFixed(3) : 'FAILED'} | ${good.length ? (rss / 1024).toFixed(1) : '–'} | ${meets} | ${rs.length - good.length} |`,
  );
}
md.push(
  '',
  '`prism backup list` reads the config, the keys (encrypted: one key derivation) and the manifests, no index file; the no-change backup loads every index file.',
  '',
);
fs.writeFileSync(path.join(OUT, 'results.md'), md.join('\n'));
fs.writeFileSync(
  path.join(OUT, 'results.tsv'),
  [
    'step\trep\twall_s\tmax_rss_kb\trc\tentries\tindex_files\tindex_bytes\tencrypted',
    ...rows.map((r) => [r.step, r.rep, r.wall.toFixed(3), r.rss, r.rc, entries, indexFiles, indexBytes, o.encrypt ? 1 : 0].join('\t')),
  ].join('\n') + '\n',
);
fs.writeFileSync(
  path.join(OUT, 'env.txt'),
  `date: ${new Date().toISOString()}\nprism: ${commit}, cmd: ${PRISM.join(' ')}\nnode: ${process.version}\nchunks: ${entries} (${real} real, ${added} synthetic)\nper-file: ${PER_FILE}\nencrypted: ${o.encrypt ? 'yes' : 'no'}\ndataset: ${DATASET}\nload-end: ${load}\n`,
);
console.log('\n' + md.join('\n'));
console.log(`results: ${path.join(OUT, 'results.md')}`);
if (!o.keep) {
  // moved to the trash, as bench/harness/lib.sh does (no inodes freed while others may be timing)
  const trash = path.join(PBENCH_ROOT, 'trash', `${Date.now()}${process.pid}`);
  fs.mkdirSync(trash, { recursive: true });
  fs.renameSync(WORK, path.join(trash, 'big-index-work'));
  console.log(`(the work tree is in ${trash}; rm -rf it when done benchmarking)`);
}
process.exit(rows.some((r) => r.rc !== 0) ? 1 : 0);
