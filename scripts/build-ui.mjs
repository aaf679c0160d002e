// The dashboard's front end (ui/): one esbuild bundle, minified, into dist/ui/ (index.html, app.js, app.css),
// served by the service from the package. Everything is bundled here: no CDN, no external font, no inline script.
import { build } from 'esbuild';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ui');

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const built = await build({
  absWorkingDir: root,
  metafile: true,
  entryPoints: { app: 'ui/src/main.tsx' },
  outdir: out,
  bundle: true,
  splitting: true,
  chunkNames: '[name]-[hash]',
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  sourcemap: false,
  logLevel: 'warning',
  define: { 'process.env.NODE_ENV': '"production"' },
});
// boot.js: the first script of the page, alone (no chunk), which asks for the page's data while app.js loads
await build({
  absWorkingDir: root,
  entryPoints: { boot: 'ui/src/boot.ts' },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['chrome110', 'firefox110', 'safari16'],
  legalComments: 'none',
  logLevel: 'warning',
});
// the chunks app.js imports, announced in index.html: the browser fetches them beside app.js instead of after it
{
  const { readFile, writeFile } = await import('node:fs/promises');
  const entry = Object.entries(built.metafile.outputs).find(([, o]) => o.entryPoint === 'ui/src/main.tsx');
  const chunks = (entry?.[1].imports ?? []).filter((i) => i.kind === 'import-statement').map((i) => i.path.split('/').pop());
  const html = await readFile(join(root, 'ui', 'index.html'), 'utf8');
  const links = chunks.map((c) => `<link rel="modulepreload" href="${c}" />`).join('\n    ');
  const tag = '<script type="module" src="app.js"></script>';
  if (!html.includes(tag)) throw new Error(`ui/index.html: no ${tag}`);
  await writeFile(join(out, 'index.html'), links ? html.replace(tag, `${tag}\n    ${links}`) : html);
}
// a gzip copy beside each text file, which the server sends to browsers that accept it (a third of the bytes)
{
  const { gzipSync } = await import('node:zlib');
  const { readFile, writeFile } = await import('node:fs/promises');
  for (const f of await readdir(out)) {
    if (/\.(js|css|html|svg)$/.test(f)) await writeFile(join(out, `${f}.gz`), gzipSync(await readFile(join(out, f)), { level: 9 }));
  }
}
if (process.argv.includes('--sizes')) {
  const { gzipSync } = await import('node:zlib');
  const { readFile } = await import('node:fs/promises');
  for (const f of (await readdir(out)).filter((n) => !n.endsWith('.gz')).sort()) {
    const p = join(out, f);
    const raw = (await stat(p)).size;
    const gz = gzipSync(await readFile(p), { level: 9 }).length;
    console.log(`${f}: ${(raw / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped`);
  }
}
