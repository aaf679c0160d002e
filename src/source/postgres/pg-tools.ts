import { existsSync, readdirSync, realpathSync } from 'node:fs';
import path from 'node:path';

const resolved = new Map<string, string>();

/**
 * The binary to start for a PostgreSQL client tool. On Debian, /usr/bin/psql, pg_dump … are
 * links to postgresql-common's pg_wrapper, a Perl script that costs ~0.1 s per start to pick a
 * version; this picks what it would (the newest installed client, which reads every older
 * server) and starts it directly. Other tools and other layouts are returned as named.
 */
export function pgTool(tool: string, env: NodeJS.ProcessEnv = process.env): string {
  const key = `${tool}\0${env.PATH ?? ''}`;
  const hit = resolved.get(key);
  if (hit !== undefined) return hit;
  const found = findDirect(tool, env) ?? tool;
  resolved.set(key, found);
  return found;
}

function findDirect(tool: string, env: NodeJS.ProcessEnv): string | undefined {
  const onPath = (env.PATH ?? '')
    .split(path.delimiter)
    .filter(Boolean)
    .map((dir) => path.join(dir, tool))
    .find((p) => existsSync(p));
  if (!onPath) return undefined;
  let target: string;
  try {
    target = realpathSync(onPath);
  } catch {
    return undefined;
  }
  if (path.basename(target) !== 'pg_wrapper') return undefined;
  const root = '/usr/lib/postgresql';
  let versions: string[];
  try {
    versions = readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v));
  } catch {
    return undefined;
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => path.join(root, v, 'bin', tool)).find((p) => existsSync(p));
}
