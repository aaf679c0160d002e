import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { appendPrivateFile, mkdirPrivate } from '../core/private-files.js';

/** Appends one JSON line (a single write, so concurrent writers never interleave inside a line). */
export function appendJsonLine(file: string, value: unknown): void {
  mkdirPrivate(dirname(file));
  appendPrivateFile(file, JSON.stringify(value) + '\n');
}

/** Every parseable line of a JSON-lines file, oldest first; a torn last line (a crash mid-write) is skipped. */
export function readJsonLines<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // a line cut short by a crash: not a record
    }
  }
  return out;
}
