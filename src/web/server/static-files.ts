import { createReadStream, existsSync, realpathSync, statSync, type ReadStream } from 'node:fs';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The package's root folder (the one whose package.json is prism's), found upwards from this module (dist/web/server/ or dist/bundle/). */
export function packageRoot(from = dirname(fileURLToPath(import.meta.url))): string {
  for (let dir = from; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'bin', 'prism.js'))) return dir;
    if (dirname(dir) === dir) return resolve(from, '..', '..', '..');
  }
}

/** dist/ui/ of the package: the built front end. */
export function defaultUiDir(): string {
  return join(packageRoot(), 'dist', 'ui');
}

export type StaticResult =
  { kind: 'file'; type: string; size: number; stream: ReadStream; gzip: boolean } | { kind: 'missing' } | { kind: 'bad' } | { kind: 'not-built' };

/** Whether an Accept-Encoding header accepts gzip (not with q=0). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const text = Array.isArray(header) ? header.join(',') : (header ?? '');
  return text.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') return false;
    const q = params.map((x) => x.trim()).find((x) => x.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  });
}

/**
 * The file of `uiDir` that the request path `rawPath` (still percent-encoded, without the query)
 * names; `/` is index.html. Every segment is decoded once and refused if it is `.` or `..`, holds
 * a slash, a backslash or a NUL, or starts with a dot; the resolved file (symbolic links
 * followed) must lie inside uiDir and be a regular file. Nothing outside uiDir is ever opened.
 */
export function staticFile(uiDir: string, rawPath: string, gzip = false): StaticResult {
  if (!existsSync(join(uiDir, 'index.html'))) return { kind: 'not-built' };
  if (!rawPath.startsWith('/') || rawPath.length > 1024) return { kind: 'bad' };
  const segments: string[] = [];
  for (const raw of rawPath.slice(1).split('/')) {
    let seg: string;
    try {
      seg = decodeURIComponent(raw);
    } catch {
      return { kind: 'bad' };
    }
    if (seg === '') continue;
    if (seg.startsWith('.') || /[/\\\0]/.test(seg)) return { kind: 'bad' };
    segments.push(seg);
  }
  if (segments.length === 0) segments.push('index.html');
  let root: string;
  let file: string;
  try {
    root = realpathSync(uiDir);
    file = realpathSync(join(root, ...segments));
  } catch {
    return { kind: 'missing' };
  }
  if (!file.startsWith(root + sep)) return { kind: 'bad' };
  const st = statSync(file);
  if (!st.isFile()) return { kind: 'missing' };
  const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
  // the build's gzip copy beside the file (inside uiDir as well), when the browser takes gzip
  const packed = gzip ? gzipCopy(root, `${file}.gz`) : undefined;
  if (packed) return { kind: 'file', type, size: packed.size, stream: createReadStream(packed.file), gzip: true };
  return { kind: 'file', type, size: st.size, stream: createReadStream(file), gzip: false };
}

function gzipCopy(root: string, path: string): { file: string; size: number } | undefined {
  try {
    const file = realpathSync(path);
    const st = statSync(file);
    return file.startsWith(root + sep) && st.isFile() ? { file, size: st.size } : undefined;
  } catch {
    return undefined;
  }
}

export const NOT_BUILT_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>prism dashboard</title></head>
<body><h1>prism dashboard</h1>
<p>The user interface was not built (dist/ui/ is missing). Run <code>npm run build</code> in prism's folder, then reload this page.</p>
<p>The status API answers under <code>/api/…</code> meanwhile (see docs/dashboard.md).</p></body></html>
`;
