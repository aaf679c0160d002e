import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../codec/hash.js';

/** path → "type:mode:mtimeMs:sha" for everything under dir (excluding logs/, temp/, run/, prism.pid and .prism-restore* at the top). */
export function snapshotDir(dir: string, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    if (!prefix && (name === 'logs' || name === 'temp' || name === 'run' || name === 'prism.pid' || name.startsWith('.prism-restore'))) continue;
    const rel = prefix ? `${prefix}/${name}` : name;
    const full = join(dir, name);
    const st = lstatSync(full);
    if (st.isSymbolicLink()) out.set(rel, `link:${readlinkSync(full)}`);
    else if (st.isDirectory()) {
      out.set(rel, `dir:${(st.mode & 0o7777).toString(8)}`);
      for (const [p, v] of snapshotDir(full, rel)) out.set(p, v);
    } else out.set(rel, `file:${(st.mode & 0o7777).toString(8)}:${Math.round(st.mtimeMs)}:${sha256Hex(readFileSync(full))}`);
  }
  return out;
}
