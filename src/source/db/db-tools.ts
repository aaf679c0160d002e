import { spawnSync } from 'node:child_process';
import { pgTool } from '../postgres/pg-tools.js';
import type { DbType } from './db-url.js';
import { mysqlTool } from '../mysql/mysql-dump.js';

export interface ToolCheck {
  tool: string;
  /** `--version` output's first line, or null when the tool is missing. */
  version: string | null;
  /** Major version (PostgreSQL tools), for comparing with the server's. */
  major: number | null;
}

/** The native tools an engine's backups and restores need, and their versions. */
export function checkDbTools(type: DbType): ToolCheck[] {
  const tools = type === 'postgres' ? ['pg_dump', 'pg_restore', 'psql'] : [mysqlTool('dump'), mysqlTool('client')];
  return tools.map((tool) => {
    const r = spawnSync(type === 'postgres' ? pgTool(tool) : tool, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const version = r.status === 0 ? r.stdout.split('\n')[0]!.trim() : null;
    const m = version && type === 'postgres' ? /\) (\d+)/.exec(version) : null;
    return { tool, version, major: m ? Number(m[1]) : null };
  });
}

/** The major version in a server_version string ("15.20 (Debian …)" → 15). */
export function serverMajor(version: string): number | null {
  const m = /^(\d+)/.exec(version);
  return m ? Number(m[1]) : null;
}
