import { statSync } from 'node:fs';
import type { ResolvedConfig } from './resolved-config.js';

/** A config file that holds a password and that group or others may read. */
export interface ExposedSecrets {
  file: string;
  /** Permission bits, e.g. 0o644. */
  mode: number;
  /** The keys that hold a password, e.g. `backup.databases[0].url`. */
  keys: string[];
}

/** config/backup.json when a URL in it carries a password (user:password@) and its mode lets group or others read it. */
export function exposedSecrets(config: ResolvedConfig): ExposedSecrets | undefined {
  if (!config.configFileExists) return undefined;
  const urls: [string, string | undefined][] = [
    ...config.backup.databases.map((d, i): [string, string] => [`backup.databases[${i}].url`, d.url]),
    ['backup.alerts.webhook_url', config.backup.alerts.webhook_url],
  ];
  const keys = urls.filter(([, url]) => url !== undefined && hasPassword(url)).map(([key]) => key);
  if (keys.length === 0) return undefined;
  let mode: number;
  try {
    mode = statSync(config.configFile).mode & 0o777;
  } catch {
    return undefined;
  }
  return (mode & 0o044) === 0 ? undefined : { file: config.configFile, mode, keys };
}

function hasPassword(url: string): boolean {
  try {
    return new URL(url).password !== '';
  } catch {
    return false;
  }
}
