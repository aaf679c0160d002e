import { promises as fsp } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { spoolArea, walSpoolSettings } from '../app/pitr/postgres/wal-spool.js';
import { loadConfig } from '../config/load-config.js';
import { configFilePath, prismHome, type Env } from '../config/paths.js';
import type { ResolvedConfig } from '../config/resolved-config.js';
import { mkdirPrivateAsync, PRIVATE_FILE_MODE } from '../core/private-files.js';
import { isRemoteLocation } from '../core/remote-location.js';
import { encodeField, fnv1a64, formatIdentity, identityOf } from '../core/wal-fast-text.js';

/**
 * Pointer files for the WAL launcher (src/cli/wal-launcher/prism-wal.main.c), which answers
 * archive_command and restore_command from the spool without starting node and without reading
 * the config: `PRISM_HOME/run/wal-fast/<FNV-1a-64 of kind, flags and WAL directory>` says which
 * spool area this node side used for that call, and under what it resolved it — the call's flags,
 * the real path of the WAL directory, the working directory, the config file's identity (or its
 * absence) and the `PRISM_*` and `HOME` environment. The launcher builds the same lines from its
 * own view and uses the area only when they are byte for byte the file's; anything else (another
 * environment, an edited config, a pointer missing or damaged) starts node as if it were absent.
 */

/** The flags of archive-wal and restore-wal that the launcher knows (it starts node on any other). */
export interface WalCallFlags {
  repo?: string | undefined;
  spoolDir?: string | undefined;
  prefetch?: number | undefined;
}

export interface WalCall extends WalCallFlags {
  kind: 'archive' | 'restore';
  /** %p: the WAL file (archive) or the file to write (restore). */
  path: string;
}

/** Set by the launcher on the node it starts (and left out of the environment compared): node then keeps the pointers up to date. */
export const LAUNCHER_ENV = 'PRISM_WAL_LAUNCHER';

/** The flags as the launcher writes them: `repo=…`, `spool-dir=…`, `prefetch=N`, in this order, those given. */
export function pointerFlags(f: WalCallFlags): string {
  const parts: string[] = [];
  if (f.repo !== undefined) parts.push(`repo=${encodeField(f.repo)}`);
  if (f.spoolDir !== undefined) parts.push(`spool-dir=${encodeField(f.spoolDir)}`);
  if (f.prefetch !== undefined) parts.push(`prefetch=${f.prefetch}`);
  return parts.join(' ');
}

/** The environment that may change what the config resolves to, one encoded `NAME=VALUE` a line, sorted. */
export function pointerEnv(env: Env): string[] {
  return Object.keys(env)
    .filter((k) => (k.startsWith('PRISM_') || k === 'HOME') && k !== LAUNCHER_ENV && env[k] !== undefined)
    .map((k) => encodeField(`${k}=${env[k]}`))
    .sort();
}

/** The repository a call with `--repo R` works on (as repoContext resolves it). */
export function callStoragePath(config: ResolvedConfig, repo: string | undefined): string {
  if (repo === undefined) return config.storagePath;
  const copy = config.copies.find((c) => c.name === repo);
  return copy?.location ?? (isRemoteLocation(repo) ? repo : resolve(repo));
}

export function pointerFile(home: string, kind: WalCall['kind'], flags: string, walDir: string): string {
  return join(home, 'run', 'wal-fast', fnv1a64(`${kind}\0${flags}\0${encodeField(walDir)}`));
}

async function configLine(file: string): Promise<string | undefined> {
  try {
    return `config ${encodeField(file)} ${formatIdentity(identityOf(await fsp.stat(file, { bigint: true })))}`;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? `config ${encodeField(file)} absent` : undefined;
  }
}

/**
 * The pointer's text for `call`, or undefined when the launcher must not answer it (a remote
 * repository, no background push or no fetch ahead, a config that changed while it was read).
 */
export async function pointerText(env: Env, call: WalCall): Promise<{ file: string; text: string } | undefined> {
  const home = prismHome(env);
  const configFile = configFilePath(home);
  const before = await configLine(configFile);
  if (before === undefined) return undefined;
  const config = loadConfig(env);
  const storagePath = callStoragePath(config, call.repo);
  if (isRemoteLocation(storagePath)) return undefined;
  const spool = walSpoolSettings({ config }, { spoolDir: call.spoolDir, prefetch: call.prefetch });
  if (call.kind === 'archive' ? !spool.async : spool.prefetch <= 0) return undefined;
  const walDir = dirname(resolve(call.path));
  const realWalDir = await fsp.realpath(walDir);
  const area = spoolArea(spool, call.kind, storagePath, walDir);
  if ((await configLine(configFile)) !== before) return undefined;
  const flags = pointerFlags(call);
  const envLines = pointerEnv(env);
  const lines = [
    'prism-wal-pointer 1',
    `kind ${call.kind}`,
    `flags ${flags}`,
    `waldir ${encodeField(realWalDir)}`,
    `cwd ${encodeField(process.cwd())}`,
    before,
    `env ${envLines.length}`,
    ...envLines,
    `repo ${encodeField(storagePath)}`,
    `spool ${encodeField(spool.dir)}`,
    `area ${encodeField(area)}`,
    'end',
    '',
  ];
  return { file: pointerFile(home, call.kind, flags, realWalDir), text: lines.join('\n') };
}

/** Writes the call's pointer when the launcher started this process and it differs (a hint: errors are ignored). */
export async function recordWalPointer(env: Env, call: WalCall): Promise<void> {
  if (env[LAUNCHER_ENV] !== '1') return;
  try {
    const p = await pointerText(env, call);
    if (!p) return;
    if ((await fsp.readFile(p.file, 'utf8').catch(() => undefined)) === p.text) return;
    await mkdirPrivateAsync(dirname(p.file));
    const temp = `${p.file}.${process.pid}.tmp`;
    await fsp.writeFile(temp, p.text, { mode: PRIVATE_FILE_MODE });
    await fsp.rename(temp, p.file);
  } catch {
    // the launcher starts node for this call's next segments, as without a pointer
  }
}
