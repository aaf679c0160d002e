import { isRemoteLocation } from '../core/remote-location.js';
import { resolve } from 'node:path';
import type { AppContext } from '../app/index.js';
import type { ExposedSecrets } from '../config/index.js';
import { systemClock } from '../core/clock.js';
import type { Logger } from '../core/logger.js';
import { isPrismError, type PrismError } from '../errors/index.js';
import { namePath } from './named-paths.js';

/**
 * Builds the app context for one command: config from env + file, the system clock, a log file.
 * The config schema (valibot) and the logger (pino) are loaded here, by the commands that run,
 * not by `--help`.
 */
export async function cliContext(logFile = 'backup.log', opts: { ignoreConfigFile?: boolean } = {}): Promise<AppContext> {
  const [{ exposedSecrets, loadConfig, configFilePath, passwordSourceFromEnv }, { fileLogger }] = await Promise.all([
    import('../config/index.js'),
    import('./logger.js'),
  ]);
  const home = await cliHome();
  namePath({ role: 'data directory', path: home, setting: process.env.PRISM_HOME ? 'PRISM_HOME' : 'default (set PRISM_HOME to change it)' });
  namePath({ role: 'configuration file', path: configFilePath(home), setting: 'PRISM_HOME (it is config/backup.json in the data directory)' });
  const config = loadConfig(process.env, { ignoreFile: opts.ignoreConfigFile ?? false });
  namePath({
    role: 'repository',
    path: config.storagePath,
    setting: STORAGE_PATH_SETTING[config.origins['backup.storage_path'] ?? 'default'](config.configFile),
  });
  const logger = fileLogger(config.home, logFile, config.verbose);
  warnExposed(exposedSecrets(config), logger);
  // Only read when a repository turns out to be encrypted; the prompt's module loads when it asks.
  const password = passwordSourceFromEnv(process.env, {
    prompt: async (question, o) => (await import('./password-prompt.js')).promptPassword(question, { confirm: o?.confirm === true }),
    isTTY: process.stdin.isTTY === true && process.stderr.isTTY === true,
  });
  return {
    config,
    clock: systemClock,
    logger,
    password,
    keyCache: new Map(),
    ...(process.env.PRISM_KEY_HINT ? { keyHint: process.env.PRISM_KEY_HINT } : {}),
    // The smallest key-derivation cost prism accepts, for new key files: tests and slow machines (`prism key list` shows it).
    ...(/^(1|true|yes|on)$/i.test(process.env.PRISM_KDF_MINIMUM ?? '') ? { kdf: { N: 2 ** 14, r: 8, p: 1 } } : {}),
    onLockWait: (h) => process.stderr.write(`Waiting for the repository lock held by \`${h.command}\` (pid ${h.pid} on ${h.host}, since ${h.created})…\n`),
  };
}

let warnedExposed = false;

/** Once per command: a config file with a password that others may read, and the fix. */
function warnExposed(exposed: ExposedSecrets | undefined, logger: Logger): void {
  if (!exposed || warnedExposed) return;
  warnedExposed = true;
  const mode = `0${exposed.mode.toString(8)}`;
  const message = `${exposed.file} holds a password (${exposed.keys.join(', ')}) and is readable by group or others (mode ${mode}); run \`chmod 600 ${exposed.file}\``;
  process.stderr.write(`Warning: ${message}\n`);
  logger.warn({ event: 'config.exposed', file: exposed.file, mode, keys: exposed.keys }, message);
}

/**
 * PRISM_HOME, for the commands that need only its files (the pid file, the service state, the task
 * and drill logs): they work whatever config/backup.json says.
 */
export async function cliHome(): Promise<string> {
  const { prismHome } = await import('../config/paths.js');
  return prismHome(process.env);
}

/** The app context, or the configuration's error (CONFIG_INVALID) for a command that can do without it. */
export async function cliContextOrConfigError(logFile?: string): Promise<AppContext | PrismError> {
  return cliContext(logFile).catch((e: unknown) => {
    if (isPrismError(e) && e.code === 'CONFIG_INVALID') return e;
    throw e;
  });
}

const STORAGE_PATH_SETTING = {
  env: () => 'PRISM_BACKUP_PATH',
  file: (file: string) => `backup.storage_path in ${file}`,
  default: () => 'default (set PRISM_BACKUP_PATH or backup.storage_path to change it)',
} as const;

/** The `--repo` option of the commands that read or maintain a repository (see repoContext). */
export const REPO_OPTION = ['--repo <copy|path>', 'a copy named in backup.copies, or another repository path or location, instead of the primary'] as const;

/**
 * cliContext with `--repo` (when given) overriding PRISM_BACKUP_PATH / backup.storage_path: the
 * name of a copy in backup.copies, or a path or location. A copy that shares the primary's keys
 * opens with the same password; one with a key of its own with its password_file.
 */
export async function repoContext(opts: { repo?: string | undefined }, logFile = 'backup.log'): Promise<AppContext> {
  const ctx = await cliContext(logFile);
  if (!opts.repo) return ctx;
  const named = ctx.config.copies.find((c) => c.name === opts.repo);
  const storagePath = named ? named.location : isRemoteLocation(opts.repo) ? opts.repo : resolve(opts.repo);
  namePath({ role: 'repository', path: storagePath, setting: named ? `--repo (copy "${named.name}" in backup.copies)` : '--repo' });
  if (storagePath === ctx.config.storagePath) return ctx;
  const [{ copyContext }, { locationTarget }] = await Promise.all([import('../app/copies/copy-context.js'), import('../app/copies/copy-target.js')]);
  // a copy is cleaned up by its own retention (`keep`), and one with a key of its own opens with its password;
  // another location has the primary's retention and password
  return copyContext(ctx, named ?? locationTarget(ctx.config, storagePath));
}
