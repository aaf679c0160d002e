#!/usr/bin/env node
// `npm run test:unit`: the tests that need no database or storage server, no root, no second user, no
// mounted file system and no child process (no CLI run, no service), for a run in seconds while
// editing. `npm test` runs everything, these included.
//
// A test file is in this tier when neither it nor a test helper it imports (src/testing/, followed
// through their own imports; fixtures.js, which every test uses, only through what the test calls)
// names one of the things below. Extra arguments go to `node --test`.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const DIST = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const OUTSIDE =
  /testing\/(databases|pg-cluster|test-servers|s3-server|remote-repos|azurite|fault-proxy)\.js|\bprism(Async)?\(|PRISM_BIN|child_process|setpriv|\bmount\b|mariadb|postgres:\/\//;

function testFiles(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    return e.isDirectory() ? testFiles(p) : e.name.endsWith('.test.js') ? [p] : [];
  });
}

/** The file's text and that of every test helper it imports, transitively. */
function withHelpers(file, seen = new Set()) {
  if (seen.has(file)) return '';
  seen.add(file);
  const text = readFileSync(file, 'utf8');
  let all = text;
  for (const m of text.matchAll(/from '(\.[^']+)'/g)) {
    const dep = resolve(dirname(file), m[1]);
    if (dep.includes(`${join(DIST, 'testing')}/`) && !dep.endsWith('/fixtures.js') && existsSync(dep)) all += withHelpers(dep, seen);
  }
  return all;
}

if (!existsSync(DIST)) {
  console.error('test:unit: no dist/ (run `npm run build` first)');
  process.exit(2);
}
const unit = testFiles(DIST)
  .filter((f) => !OUTSIDE.test(withHelpers(f)))
  .sort();
console.error(`test:unit: ${unit.length} test files: ${unit.map((f) => relative(DIST, f)).join(' ')}`);
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...process.argv.slice(2), ...unit], { stdio: 'inherit' });
process.exit(r.status ?? 1);
