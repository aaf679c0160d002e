import { isRemoteLocation } from '../core/remote-location.js';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { resolve } from 'node:path';
import * as v from 'valibot';
import { PrismError, describeSystemError } from '../errors/index.js';
import { jsonKeyPlaces, jsonSyntaxProblem, placeOfKey } from './json-source.js';
import { configFilePath, expandHome, prismHome, type Env } from './paths.js';
import type { ResolvedConfig, ValueOrigin } from './resolved-config.js';
import { configFileSchema, defaultCompressionLevel } from './schema.js';

/** Loads config/backup.json (defaults when missing), validates it and applies the env overrides. */
export function loadConfig(env: Env = process.env, opts: { ignoreFile?: boolean } = {}): ResolvedConfig {
  const home = prismHome(env);
  const configFile = configFilePath(home);
  const configFileExists = existsSync(configFile);
  const text = configFileExists && !opts.ignoreFile ? readConfigText(configFile) : undefined;
  const raw = text === undefined ? {} : parseJson(configFile, text);
  refusePasswordKeys(configFile, text ?? '', raw);
  const parsed = v.safeParse(configFileSchema, raw);
  if (!parsed.success) throw configError(configFile, text ?? '', raw, parsed.issues[0]);
  const backup = parsed.output.backup;
  backup.compression.level ??= defaultCompressionLevel(backup.compression.algorithm);

  const origins: Record<string, ValueOrigin> = {};
  collectOrigins(parsed.output, raw, '', origins);

  let storagePath = backup.storage_path;
  if (env.PRISM_BACKUP_PATH) {
    storagePath = env.PRISM_BACKUP_PATH;
    origins['backup.storage_path'] = 'env';
  }
  origins['backup.concurrency'] ??= 'default';
  let concurrency = backup.concurrency ?? availableParallelism();
  if (env.PRISM_BACKUP_CONCURRENCY !== undefined && env.PRISM_BACKUP_CONCURRENCY !== '') {
    concurrency = parseConcurrency(env.PRISM_BACKUP_CONCURRENCY);
    origins['backup.concurrency'] = 'env';
  }
  let verbose = backup.verbose;
  if (env.PRISM_BACKUP_VERBOSE !== undefined && env.PRISM_BACKUP_VERBOSE !== '') {
    verbose = parseBoolean('PRISM_BACKUP_VERBOSE', env.PRISM_BACKUP_VERBOSE);
    origins['backup.verbose'] = 'env';
  }
  return {
    home,
    configFile,
    configFileExists,
    storagePath: repositoryLocation(home, storagePath),
    host: backup.host ?? hostname(),
    concurrency,
    verbose,
    encryption: { enabled: backup.encryption.enabled },
    objectLock: backup.object_lock,
    backup,
    copies: backup.copies.map((c) => ({
      name: c.name,
      location: repositoryLocation(home, c.repository),
      afterBackup: c.after_backup,
      schedule: c.schedule,
      passwordFile: c.password_file === undefined ? undefined : resolve(home, expandHome(c.password_file)),
      objectLock: c.object_lock,
      keep: c.keep ?? backup.retention_policy,
    })),
    origins,
  };
}

/** A repository path as written in the config: ~ expanded, relative to PRISM_HOME; a remote location as it is. */
function repositoryLocation(home: string, path: string): string {
  return isRemoteLocation(path) ? path : resolve(home, expandHome(path));
}

function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const m = describeSystemError(e, file);
    throw new PrismError(
      'CONFIG_INVALID',
      `Cannot read ${file}: ${m?.says ?? (e as Error).message}.`,
      { file, path: file, ...(m ? { errno: m.errno } : {}) },
      { cause: e },
    );
  }
}

/** The file's value; a syntax error is named by line, column and the key it is in (not by V8's character offset). */
function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch (e) {
    const p = jsonSyntaxProblem(text);
    if (!p) throw e;
    const where = p.key ? ` (in ${p.key})` : '';
    throw new PrismError('CONFIG_INVALID', `${file}, line ${p.line}, column ${p.column}: not valid JSON${where}: ${p.message}`, {
      file,
      line: p.line,
      column: p.column,
      ...(p.key ? { key: p.key } : {}),
    });
  }
}

/**
 * A password (or passphrase, password_file …) under backup.encryption: refused, without quoting it.
 * backup.json is backed up with the data it configures and is often readable by others; the
 * repository's password comes from the environment (config/password-sources.ts).
 */
function refusePasswordKeys(file: string, text: string, raw: unknown): void {
  const key = passwordKey(valueAt(raw, ['backup', 'encryption']), ['backup', 'encryption']);
  if (!key) return;
  const { line, column } = placeOfKey(jsonKeyPlaces(text), key);
  throw new PrismError(
    'CONFIG_INVALID',
    `${file}, line ${line}, column ${column}: ${key.join('.')}: passwords never go into backup.json (it is backed up and may be read by others). Remove the key, and give the repository's password through PRISM_PASSWORD_FILE (a file only you can read) or PRISM_PASSWORD_COMMAND (a command that prints it).`,
    { file, line, column, key: key.join('.') },
  );
}

function passwordKey(value: unknown, path: string[]): string[] | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  for (const [k, child] of Object.entries(value)) {
    if (/pass(word|phrase)/i.test(k)) return [...path, k];
    const found = passwordKey(child, [...path, k]);
    if (found) return found;
  }
  return undefined;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let cur: unknown = root;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function configError(file: string, text: string, raw: unknown, issue: v.BaseIssue<unknown>): PrismError {
  const path = (issue.path ?? []).map((p) => String(p.key));
  let expected = issue.message;
  if (issue.type === 'strict_object' && issue.expected === 'never') {
    expected = 'no such key (check the spelling against the config reference)';
  } else if (issue.expected && !issue.message.startsWith('Invalid')) {
    expected = issue.message;
  } else if (issue.expected) {
    expected = `expected ${issue.expected}`;
  }
  const key = path.join('.') || '(root)';
  const value = valueAt(raw, path);
  // what is under backup.encryption may be a secret typed in the wrong place: not quoted
  // and a receiver's password, token or URL (which may carry a token) neither
  const secret = (path[0] === 'backup' && path[1] === 'encryption') || (path[1] === 'alerts' && /pass|token|url|secret/i.test(path.slice(2).join('.')));
  const shown = value === undefined ? '(missing)' : secret ? '(value not shown)' : JSON.stringify(value);
  const { line, column } = placeOfKey(jsonKeyPlaces(text), path);
  return new PrismError('CONFIG_INVALID', `${file}, line ${line}, column ${column}: ${key} = ${shown}: ${expected}`, {
    file,
    line,
    column,
    key,
    ...(secret ? {} : { value }),
    expected,
  });
}

function parseConcurrency(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < 1 || n > 64) {
    throw new PrismError('CONFIG_INVALID', `PRISM_BACKUP_CONCURRENCY = "${v}": expected a whole number from 1 to 64`, {
      key: 'PRISM_BACKUP_CONCURRENCY',
      value: v,
    });
  }
  return n;
}

function parseBoolean(name: string, v: string): boolean {
  const s = v.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(s)) return true;
  if (['false', '0', 'no', 'off'].includes(s)) return false;
  throw new PrismError('CONFIG_INVALID', `${name} = "${v}": expected true or false`, { key: name, value: v });
}

function collectOrigins(value: unknown, raw: unknown, prefix: string, out: Record<string, ValueOrigin>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) {
      const rawChild = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>)[k] : undefined;
      collectOrigins(v, rawChild, prefix ? `${prefix}.${k}` : k, out);
    }
    return;
  }
  out[prefix] = raw === undefined ? 'default' : 'file';
}
