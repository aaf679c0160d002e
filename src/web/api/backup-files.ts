import { Readable } from 'node:stream';
import * as v from 'valibot';
import { backupFile, listBackupDir, searchBackup } from '../../app/backups/browse-backup.js';
import { route } from './errors.js';
import { parseInput, strict } from './input.js';
import { ApiError, json, type ApiRoute } from './route.js';

/** At most this many results of a search (`truncated: true` beyond). */
export const SEARCH_CAP = 1000;

/**
 * A path inside a backup as a query parameter: the name as `backup ls --json` prints it between its
 * quotes, i.e. JSON string escapes (`\udcff` is the byte 0xff of a name that is not UTF-8, `\\` a
 * backslash); everything else is itself. A client sends `JSON.stringify(path).slice(1, -1)`.
 */
export function decodePathParam(field: string, text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const e = text[++i];
    const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
    if (e !== undefined && simple[e] !== undefined) out += simple[e];
    else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) {
      out += String.fromCharCode(Number.parseInt(text.slice(i + 1, i + 5), 16));
      i += 4;
    } else throw new ApiError(400, 'INVALID_ARGUMENT', `${field}: a backslash starts a JSON escape (\\\\, \\", \\uXXXX …); "\\${e ?? ''}" is none.`);
  }
  if (out.includes('\0')) throw new ApiError(400, 'INVALID_ARGUMENT', `${field}: a path holds no NUL byte.`);
  // "/.." anywhere, "..", "a/../../b": nothing outside the backup's tree is ever named
  if (out.split('/').includes('..')) throw new ApiError(400, 'INVALID_ARGUMENT', `${field}: a path inside the backup, without "..".`);
  return out;
}

const pathField = v.pipe(v.string(), v.maxLength(65_536, 'at most 65,536 characters'));

const filesQuery = strict({ path: v.optional(pathField, ''), q: v.optional(v.pipe(v.string(), v.minLength(1, 'at least one character'), v.maxLength(1024))) });

const files = route(
  'GET',
  '/api/backups/:id/files',
  'a directory of the backup (path), or a search by name below it (q: at most 1,000, then truncated), entries as `backup ls --json`',
  async (req) => {
    const q = parseInput(filesQuery, req.query, 'query');
    const path = decodePathParam('path', q.path);
    const id = req.params['id']!;
    if (q.q === undefined) return json({ path, entries: await listBackupDir(req.ctx, id, path) });
    const r = await searchBackup(req.ctx, id, path, q.q, SEARCH_CAP);
    return json({ path, q: q.q, entries: r.entries, truncated: r.truncated });
  },
);

const downloadQuery = strict({ path: pathField });

/** A file name safe for a Content-Disposition header: bytes that are not UTF-8, controls, quotes and backslashes become "_". */
export function downloadName(name: string): string {
  const safe = name.replace(/[\ud800-\udfff]|[\u0000-\u001f\u007f-\u009f"\\\u2028\u2029]/g, (c, i: number) => {
    const code = c.charCodeAt(0);
    const pair = code >= 0xd800 && code <= 0xdbff ? name.charCodeAt(i + 1) : code >= 0xdc00 && code <= 0xdfff ? name.charCodeAt(i - 1) : -1;
    const paired =
      code >= 0xd800 && code <= 0xdbff ? pair >= 0xdc00 && pair <= 0xdfff : code >= 0xdc00 && code <= 0xdfff ? pair >= 0xd800 && pair <= 0xdbff : false;
    return paired ? c : '_';
  });
  return safe || 'download';
}

const download = route('GET', '/api/backups/:id/download', "one file's bytes (path), read from the repository and checked", async (req) => {
  const q = parseInput(downloadQuery, req.query, 'query');
  const f = await backupFile(req.ctx, req.params['id']!, decodePathParam('path', q.path));
  const stream = Readable.from(f.chunks(), { objectMode: false });
  return { kind: 'file', name: downloadName(f.name), size: f.size, stream };
});

export const fileRoutes: ApiRoute[] = [files, download];
