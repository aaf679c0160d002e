// Compiles each src/**/*.c into a Node-API addon dist/**/*.node beside the compiled TypeScript, and
// each src/**/*.main.c into a program dist/**/<name> (run by `npm run build`). Optional: without a
// C compiler or Node's headers the build goes on and the code falls back to what Node offers
// (restored mtimes then exact to the microsecond only; no WAL launcher prism-wal, archive_command
// and restore_command then run `prism pg archive-wal` / `restore-wal`).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const headers = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node', '/usr/local/include/node'].find((d) =>
  existsSync(join(d, 'node_api.h')),
);
const cc = process.env.CC || 'cc';
const cString = (s) => JSON.stringify(s); // a C string literal for the paths below (no trigraphs, \ and " escaped)

/** A program: no Node headers; it finds bin/prism.js relative to itself and knows the node it was built with. */
function buildProgram(file) {
  const out = join(root, 'dist', relative(src, file)).replace(/\.main\.c$/, '');
  rmSync(out, { force: true });
  if (process.platform !== 'linux') {
    console.warn(`build-native: ${relative(root, file)} is built on Linux only; use \`prism pg archive-wal\` / \`restore-wal\`.`);
    return;
  }
  mkdirSync(dirname(out), { recursive: true });
  const script = relative(dirname(out), join(root, 'bin', 'prism.js'));
  const args = [
    '-O2',
    '-Wall',
    '-Wextra',
    '-D_FORTIFY_SOURCE=2',
    '-fstack-protector-strong',
    `-DPRISM_NODE_DEFAULT=${cString(process.execPath)}`,
    `-DPRISM_SCRIPT_REL=${cString(script)}`,
    '-o',
    out,
    file,
  ];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn(
      `build-native: ${cc} failed on ${relative(root, file)} (${r.error?.message ?? r.stderr.trim()}); archive_command and restore_command run \`prism pg archive-wal\` / \`restore-wal\` (no launcher).`,
    );
    rmSync(out, { force: true });
  } else if (r.stderr.trim()) {
    console.warn(`build-native: ${relative(root, file)}: ${r.stderr.trim()}`);
  }
}

for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.c')) continue;
  const file = join(entry.parentPath ?? entry.path, entry.name);
  if (entry.name.endsWith('.main.c')) {
    buildProgram(file);
    continue;
  }
  const out = join(root, 'dist', relative(src, file)).replace(/\.c$/, '.node');
  rmSync(out, { force: true });
  if (!headers) {
    console.warn(`build-native: Node's headers (node_api.h) not found: ${relative(root, file)} not built; restored mtimes are exact to the microsecond only.`);
    continue;
  }
  mkdirSync(dirname(out), { recursive: true });
  const args = ['-shared', '-fPIC', '-O2', '-Wall', '-I', headers, ...(process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : []), '-o', out, file];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn(
      `build-native: ${cc} failed on ${relative(root, file)} (${r.error?.message ?? r.stderr.trim()}); restored mtimes are exact to the microsecond only.`,
    );
    rmSync(out, { force: true });
  }
}
