// Below cli/daemon, time is read only through core/clock.ts (an injected Clock), so that tests
// drive it with a fake clock. dependency-cruiser sees imports, not calls: this finds the calls
// that read the real time (`Date.now`, `new Date()` and `Date()` without arguments) in the
// non-test files of those layers, and fails `npm run lint` naming each one.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = join(fileURLToPath(import.meta.url), '..', '..');
const LAYERS = ['app', 'snapshot', 'policy', 'source', 'repo', 'backend', 'codec', 'config', 'errors', 'core'];
const ALLOWED = new Set(['src/core/clock.ts']);

function* sources(dir) {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && !e.name.endsWith('.d.ts')) yield p;
  }
}

const isDate = (n) => ts.isIdentifier(n) && n.text === 'Date';

function realTimeReads(file) {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found = [];
  const visit = (n) => {
    let what;
    if (ts.isPropertyAccessExpression(n) && isDate(n.expression) && n.name.text === 'now') what = 'Date.now';
    else if (ts.isNewExpression(n) && isDate(n.expression) && (n.arguments?.length ?? 0) === 0) what = 'new Date()';
    else if (ts.isCallExpression(n) && isDate(n.expression)) what = 'Date()';
    if (what) found.push({ what, line: sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1 });
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return found;
}

const problems = [];
for (const layer of LAYERS) {
  for (const file of sources(join(root, 'src', layer))) {
    const rel = relative(root, file).split('\\').join('/');
    if (ALLOWED.has(rel)) continue;
    for (const f of realTimeReads(file)) problems.push(`${rel}:${f.line}: ${f.what} reads the real time; take it from the injected Clock (src/core/clock.ts)`);
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`${problems.length} real-time read(s) below cli/daemon (scripts/check-clock.mjs)`);
  process.exit(1);
}
