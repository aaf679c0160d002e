import type { ResolvedConfig, ValueOrigin } from '../config/index.js';

/** One value of the effective configuration, where it came from, secrets masked. */
export interface ConfigValue {
  key: string;
  value: unknown;
  origin: ValueOrigin;
}

export interface EffectiveConfig {
  home: string;
  config_file: string;
  config_file_exists: boolean;
  /** Every key of backup.json (an array is one value), in schema order. */
  values: ConfigValue[];
}

export const MASK = '***';

/** Keys whose value is a secret itself (their `_file` and `_env` companions only name where it is). */
const SECRET_KEY = /(^|_)(password|passphrase|token|secret|hash|authorization|credentials?|api_key|access_key)$/i;

/**
 * The configuration as every command sees it (file, environment, defaults), for reading: passwords,
 * tokens and header values masked, a URL's password masked, and of a URL outside backup.databases
 * (a webhook may carry its token in the path) only the scheme and host kept.
 */
export function effectiveConfig(config: ResolvedConfig): EffectiveConfig {
  const resolved: Record<string, unknown> = {
    'backup.storage_path': config.storagePath,
    'backup.concurrency': config.concurrency,
    'backup.verbose': config.verbose,
  };
  const values = Object.entries(config.origins).map(([key, origin]) => {
    const value = key in resolved ? resolved[key] : valueAt(config, key);
    return { key, value: mask(value, key, key.startsWith('backup.databases')), origin };
  });
  return { home: config.home, config_file: config.configFile, config_file_exists: config.configFileExists, values };
}

function valueAt(config: ResolvedConfig, key: string): unknown {
  let v: unknown = { backup: config.backup };
  for (const part of key.split('.')) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
  return v;
}

function mask(value: unknown, key: string, database: boolean): unknown {
  const last = key.split('.').at(-1) ?? key;
  if (value === undefined || value === null) return value ?? null;
  if (SECRET_KEY.test(last) && !/_(file|env)$/.test(last)) return MASK;
  if (Array.isArray(value)) return value.map((v) => mask(v, key, database));
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = last === 'headers' ? MASK : mask(v, k, database);
    return out;
  }
  if (typeof value === 'string' && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return maskUrl(value, database);
  return value;
}

function maskUrl(text: string, keepPath: boolean): string {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return MASK;
  }
  if (u.password) u.password = MASK;
  if (keepPath) {
    u.search = u.search ? MASK : '';
    u.hash = '';
    return u.toString();
  }
  const auth = u.username ? `${u.username}${u.password ? `:${MASK}` : ''}@` : '';
  const rest = u.pathname !== '/' || u.search ? `/${MASK}` : '';
  return `${u.protocol}//${auth}${u.host}${rest}`;
}
