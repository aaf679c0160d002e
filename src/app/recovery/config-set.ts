import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { PrismError } from '../../errors/index.js';
import { writePrivateFile } from '../../core/private-files.js';

export interface ConfigSet {
  /** File in $PRISM_HOME/config (default backup.json). */
  file: string;
  path: string[];
  value: unknown;
}

/**
 * Parses `--set key=value`: `backup.databases.0.url=postgres://…` edits config/backup.json;
 * `gateway.json:db.host=10.0.0.5` edits config/gateway.json. The value is JSON when it parses
 * as JSON (numbers, true, null, objects), else the string itself.
 */
export function parseConfigSet(arg: string): ConfigSet {
  const eq = arg.indexOf('=');
  if (eq <= 0)
    throw new PrismError(
      'INVALID_ARGUMENT',
      `--set "${arg}": expected key=value (e.g. backup.databases.0.url=postgres://db2/app or gateway.json:db.host=10.0.0.5).`,
    );
  const key = arg.slice(0, eq);
  const raw = arg.slice(eq + 1);
  const colon = key.indexOf(':');
  const file = colon > 0 ? key.slice(0, colon) : 'backup.json';
  const path = (colon > 0 ? key.slice(colon + 1) : key).split('.');
  if (!/^[A-Za-z0-9_.-]+\.json$/.test(file) || path.some((p) => p === '' || p === '__proto__' || p === 'constructor' || p === 'prototype')) {
    throw new PrismError('INVALID_ARGUMENT', `--set "${key}": expected [FILE.json:]dotted.key in the config folder.`);
  }
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    /* a plain string */
  }
  return { file, path, value };
}

/** Applies the edits to the JSON files in `configDir` (each written atomically); returns the files changed. */
export function applyConfigSets(configDir: string, sets: readonly ConfigSet[]): string[] {
  const files = new Map<string, Record<string, unknown>>();
  for (const s of sets) {
    const full = join(configDir, s.file);
    if (!files.has(full)) {
      let doc: unknown = {};
      if (existsSync(full)) {
        try {
          doc = JSON.parse(readFileSync(full, 'utf8'));
        } catch {
          throw new PrismError('CONFIG_INVALID', `--set: config/${s.file} is not valid JSON.`);
        }
      }
      files.set(full, doc as Record<string, unknown>);
    }
    let node = files.get(full) as Record<string, unknown>;
    for (const [i, p] of s.path.entries()) {
      if (i === s.path.length - 1) node[p] = s.value;
      else {
        if (typeof node[p] !== 'object' || node[p] === null) node[p] = /^\d+$/.test(s.path[i + 1]!) ? [] : {};
        node = node[p] as Record<string, unknown>;
      }
    }
  }
  for (const [full, doc] of files) {
    rmSync(`${full}.prism-tmp`, { force: true }); // a new file: created 0600
    writePrivateFile(`${full}.prism-tmp`, JSON.stringify(doc, null, 2) + '\n');
    renameSync(`${full}.prism-tmp`, full);
  }
  return [...files.keys()];
}
