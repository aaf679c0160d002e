// Compiles each src/**/*.c into a Node-API addon dist/**/*.node beside the compiled TypeScript (run
// by `npm run build`). Optional: without a C compiler or Node's headers the build goes on and
// the code falls back to what Node offers (restored mtimes then exact to the microsecond only).
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
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.c')) continue;
  const file = join(entry.parentPath ?? entry.path, entry.name);
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
