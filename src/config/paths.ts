import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

export function expandHome(p: string, home = homedir()): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return join(home, p.slice(2));
  return p;
}

/** PRISM_HOME, default ~/.prism-gateway. */
export function prismHome(env: Env): string {
  return resolve(expandHome(env.PRISM_HOME && env.PRISM_HOME.length > 0 ? env.PRISM_HOME : '~/.prism-gateway'));
}

export function configFilePath(home: string): string {
  return join(home, 'config', 'backup.json');
}

export function logsDir(home: string): string {
  return join(home, 'logs');
}
