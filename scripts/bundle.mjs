// Bundles the compiled CLI (dist/cli/main.js) and its worker threads into dist/bundle/, which
// bin/prism.js and bin/import_data.js load: one file per entry plus the chunks that commands
// import lazily, instead of ~80 ES modules and ~100 CommonJS files resolved one by one at every
// start (30-60 ms less per command on this machine). Run by `npm run build`, after tsc.
import { copyFileSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const out = join(dist, 'bundle');
rmSync(out, { recursive: true, force: true });
// pg asks at load time whether it runs in a Cloudflare Worker; its fallback test builds a
// `Response`, which on Node 20 loads the whole of undici (fetch) first: ~35 ms of every database
// command's start. This is Node, so the test is answered here. The build fails if pg's code changes.
const CLOUDFLARE_PROBE = "if (typeof Response === 'function') {";
const pgNodeStreams = {
  name: 'pg-node-streams',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]pg[\\/]lib[\\/]stream\.js$/ }, (args) => {
      const src = readFileSync(args.path, 'utf8');
      if (!src.includes(CLOUDFLARE_PROBE)) throw new Error(`${args.path}: the Cloudflare probe has changed; review scripts/bundle.mjs`);
      return { contents: src.replace(CLOUDFLARE_PROBE, 'if (false) {'), loader: 'js' };
    });
  },
};
const result = await build({
  absWorkingDir: root,
  // workers are started by URL relative to the module that starts them (new URL('./chunk-worker.js',
  // import.meta.url)): entries and chunks share one directory, so those URLs hold in the bundle too
  entryPoints: {
    main: 'dist/cli/main.js',
    'wal-fast': 'dist/cli/wal-fast.js',
    'chunk-worker': 'dist/snapshot/chunk-worker.js',
    'restore-worker': 'dist/snapshot/restore-worker.js',
    'check-worker': 'dist/snapshot/check-worker.js',
  },
  outdir: out,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // native addons and what pg only tries to load; ssh2 (SFTP) loads its optional native crypto
  // binding and cpu-features by path, so it stays a package of its own
  external: ['zstd-napi', 'pg-native', 'ssh2'],
  // CommonJS packages (pg, pino, commander …) call require() for Node's own modules
  banner: { js: "import { createRequire as __prismCreateRequire } from 'node:module'; const require = __prismCreateRequire(import.meta.url);" },
  plugins: [pgNodeStreams],
  sourcemap: true,
  metafile: true,
  logLevel: 'warning',
});
// which compiled modules each output file holds (the start-up test reads it)
writeFileSync(join(out, 'meta.json'), JSON.stringify(result.metafile));
// the WebAssembly modules and native addons, which the code finds beside itself (new URL('./x.wasm', import.meta.url))
for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
  const dir = entry.parentPath ?? entry.path;
  if (entry.isFile() && (entry.name.endsWith('.wasm') || entry.name.endsWith('.node')) && dir !== out)
    copyFileSync(join(dir, entry.name), join(out, entry.name));
}
