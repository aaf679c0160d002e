// Assembles each src/**/*.wat into dist/ beside the compiled TypeScript (run by `npm run build`).
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src');
const wabt = await wabtInit();
for (const entry of readdirSync(src, { recursive: true, withFileTypes: true })) {
  if (!entry.isFile() || !entry.name.endsWith('.wat')) continue;
  const file = join(entry.parentPath ?? entry.path, entry.name);
  const mod = wabt.parseWat(file, readFileSync(file, 'utf8'));
  try {
    mod.validate();
    const out = join(root, 'dist', relative(src, file)).replace(/\.wat$/, '.wasm');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}
