#!/usr/bin/env node
// Name fuzz for prism: data directories full of random odd file names (bytes that are not UTF-8,
// control characters and terminal escapes, names of NAME_MAX bytes, names that look alike once
// replaced, normalised or case-folded) go through backup, verify, ls, restore to a target and in
// place, the health check, an incremental backup and prune; each must come back byte-exact
// (names, contents, modes, symlink targets, nanosecond mtimes). See src/testing/name-fuzz.ts.
//
// usage: npm run fuzz:names -- [--rounds N] [--names N] [--seed S]
//   --rounds N  rounds to run (default 20)
//   --names N   odd names per round (default 200)
//   --seed S    seed of the first round (default: time based; printed); round i uses S + i
//
// Needs a build (`npm run build`). Exits 1 on the first failing round, naming its seed.
import { pathToFileURL } from 'node:url';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const opts = { rounds: 20, names: 200, seed: Date.now() % 1_000_000 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const key = argv[i].replace(/^--/, '').split('=')[0];
  const value = argv[i].includes('=') ? argv[i].split('=')[1] : argv[++i];
  if (!(key in opts) || !/^\d+$/.test(value ?? '')) {
    console.error('usage: npm run fuzz:names -- [--rounds N] [--names N] [--seed S]');
    process.exit(2);
  }
  opts[key] = Number(value);
}
const { nameFuzzRound } = await import(pathToFileURL(join(DIST, 'testing', 'name-fuzz.js')).href);
console.log(`name fuzz: ${opts.rounds} rounds of ${opts.names} names, seeds ${opts.seed}..${opts.seed + opts.rounds - 1}`);
for (let i = 0; i < opts.rounds; i++) {
  const seed = opts.seed + i;
  const started = Date.now();
  const r = nameFuzzRound(seed, opts.names);
  if (r.failures.length > 0) {
    console.error(`round ${i + 1}, seed ${seed}: FAILED`);
    for (const f of r.failures) console.error(`  ${f}`);
    console.error(`replay: npm run fuzz:names -- --rounds 1 --names ${opts.names} --seed ${seed}`);
    process.exit(1);
  }
  console.log(`round ${i + 1}/${opts.rounds}, seed ${seed}: ok (${Date.now() - started} ms)`);
}
console.log('name fuzz: all rounds passed');
